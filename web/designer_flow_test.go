package web

import (
	"strings"
	"testing"
)

// TestFlowMsgs: every text the workflow script asks for is in the
// catalogue in both languages (a missing one would show its key).
func TestFlowMsgs(t *testing.T) {
	for _, lang := range []string{LangZh, LangEn} {
		for k, v := range flowMsgs(lang) {
			if s, ok := v.(string); ok && (s == "dz.f."+k || strings.HasPrefix(s, "dz.")) {
				t.Errorf("%s: %s has no text", lang, k)
			}
		}
	}
}
