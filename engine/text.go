package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Text is a human-readable text in Chinese and English. In a bundle it is
// either a plain string (the same in both languages) or {"zh": "…", "en": "…"}.
type Text struct {
	Zh string
	En string
}

// T builds a bilingual Text.
func T(zh, en string) Text { return Text{Zh: zh, En: en} }

// In returns the text in lang ("zh" or "en"), falling back to the other language.
func (t Text) In(lang string) string {
	if lang == "en" {
		if t.En != "" {
			return t.En
		}
		return t.Zh
	}
	if t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// IsZero reports whether the text is empty in both languages.
func (t Text) IsZero() bool { return t.Zh == "" && t.En == "" }

// MarshalJSON writes a plain string when both languages agree.
func (t Text) MarshalJSON() ([]byte, error) {
	if t.Zh == t.En {
		return json.Marshal(t.Zh)
	}
	return json.Marshal(map[string]string{"zh": t.Zh, "en": t.En})
}

// UnmarshalJSON accepts a string or a {"zh","en"} object.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text{Zh: s, En: s}
		return nil
	}
	var m struct {
		Zh string `json:"zh"`
		En string `json:"en"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("text must be a string or {zh, en}: %w", err)
	}
	*t = Text{Zh: m.Zh, En: m.En}
	return nil
}

// Tf formats both languages with the same arguments.
func Tf(zh, en string, args ...any) Text {
	return Text{Zh: fmt.Sprintf(zh, args...), En: fmt.Sprintf(en, args...)}
}
