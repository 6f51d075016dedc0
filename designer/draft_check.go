package designer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"formwork/engine"
)

func checkSize(n int) error {
	if n > MaxDraftSize {
		return engine.Errorf(engine.ETOOLARGE, engine.Tf("草稿过大（最多 %d MB）", "the draft is too large (at most %d MB)", MaxDraftSize>>20))
	}
	return nil
}

// checkJSON accepts one JSON object and nothing else.
func checkJSON(data []byte) error {
	t := bytes.TrimSpace(data)
	if !json.Valid(t) || len(t) == 0 || t[0] != '{' {
		return &engine.Error{Code: engine.EBADREQUEST, Message: engine.T("草稿不是合法的 JSON 对象", "the draft is not a JSON object"),
			Fields: []engine.FieldError{{Field: "", Code: "json", Message: engine.T("不是合法的 JSON 对象", "not a JSON object")}}}
	}
	return nil
}

// problems validates a draft with the import's code (engine.LoadBundle)
// and returns its field errors as problems; an empty list when it loads.
func problems(data []byte) ([]Problem, error) {
	_, err := engine.LoadBundle(data)
	if err == nil {
		return []Problem{}, nil
	}
	if engine.ErrorCode(err) == engine.EINTERNAL {
		return nil, fmt.Errorf("validate draft: %w", err)
	}
	fields := engine.ErrorFields(err)
	if len(fields) == 0 {
		var e *engine.Error
		if !errors.As(err, &e) {
			return nil, fmt.Errorf("validate draft: %w", err)
		}
		return []Problem{{Pointer: "", Code: e.Code, Message: plainMessage("", e.Message)}}, nil
	}
	out := make([]Problem, 0, len(fields))
	for _, f := range fields {
		if f.Code == "schema" && echoed(f.Field, fields) {
			continue
		}
		out = append(out, Problem{Pointer: f.Field, Code: f.Code, Message: plainMessage(f.Code, f.Message)})
	}
	return out, nil
}

// echoed reports whether another error points inside ptr: a form whose
// JSON Schema does not compile is reported at its place by the
// meta-schema, and once more at the whole form in the schema library's
// words, which add nothing.
func echoed(ptr string, fields []engine.FieldError) bool {
	for _, f := range fields {
		if strings.HasPrefix(f.Field, ptr+"/") {
			return true
		}
	}
	return false
}

// plainMessage replaces the meta-schema's pattern messages, which quote a
// regular expression, with what the pattern means, and the schema
// library's own error text with a sentence.
func plainMessage(code string, msg engine.Text) engine.Text {
	if code == "expr" {
		return exprMessage(msg)
	}
	if w, ok := workflowWords[msg.En]; ok {
		return w
	}
	if code == "schema" {
		return engine.T("表单的 JSON Schema 无效，请检查其中的高级设置", "the form's JSON Schema is invalid: check its advanced settings")
	}
	if code != "pattern" {
		return msg
	}
	switch s := msg.En; {
	case strings.Contains(s, "[a-z][a-z0-9_]"):
		return engine.T("只能包含小写字母、数字和下划线，并以字母开头", "use lowercase letters, digits and _, starting with a letter")
	case strings.Contains(s, "[YMWD]"):
		return engine.T("应为 ISO 8601 时长，例如 PT4H 或 P2D", "should be an ISO 8601 duration such as PT4H or P2D")
	case strings.Contains(s, `\.[0-9]+`):
		return engine.T("应为版本号，例如 1.2.0", "should be a version number such as 1.2.0")
	case strings.Contains(s, "[01][0-9]"):
		return engine.T("应为时段，例如 09:00-21:00", "should be hours such as 09:00-21:00")
	}
	return engine.T("格式不正确", "is not in the expected format")
}

// workflowWords are the workflow check's messages, which speak the
// format's keys (roles, unit_head, else), as the workflow designer's
// panels say them.
var workflowWords = map[string]engine.Text{
	"name exactly one of roles, users, unit_head or field": engine.T("请选择由谁处理：按角色、指定人员、发起人的上级或成员字段，选其中一种",
		"choose who handles this step: by role, named people, the submitter's manager or a member field — one of them"),
	"levels_up goes with unit_head only":      engine.T("「向上几级」只用于「发起人的上级」", "“levels up” goes with “the submitter's manager” only"),
	"a timeout action needs after":            engine.T("请设置处理期限", "set the deadline"),
	"escalate needs to":                       engine.T("请选择期限到了交给谁", "choose who takes over at the deadline"),
	"only escalate takes to":                  engine.T("只有「转交」需要选择接手的人", "only a hand-over takes someone to hand over to"),
	"a branch cannot have both when and else": engine.T("一个分支不能既有条件又是「其他情况」", "a branch cannot have conditions and be “otherwise” too"),
	"the else branch must come last":          engine.T("「其他情况」分支要放在最后", "the “otherwise” branch must come last"),
	"a branch needs when or else":             engine.T("请为这个分支设置条件，或设为「其他情况」", "give this branch conditions, or make it “otherwise”"),
	"parallel branches take no when or else":  engine.T("并行分支不设条件", "parallel branches have no conditions"),
	"at most one else branch":                 engine.T("只能有一个「其他情况」分支", "there can be one “otherwise” branch only"),
	"an action node needs set or plugin":      engine.T("请设置这一步要修改的字段", "choose the fields this step sets"),
}

// bundleKeys is what the key checks read of a bundle.
type bundleKeys struct {
	App struct {
		Key *string `json:"key"`
	} `json:"app"`
	Forms []struct {
		Key        string                     `json:"x-key"`
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"forms"`
}

func readKeys(data []byte) bundleKeys {
	var k bundleKeys
	_ = json.Unmarshal(data, &k) // a wrong shape is a problem the loader reports
	return k
}

// checkKeys refuses a draft of another app, and one where a published
// form was renamed: at the same place in the list as before there is a form
// with another key that still has all of the published form's fields, and
// the old key is gone. (A form deleted and another added in its place is
// not a rename: its data loss is the publish's impact to confirm.)
func (d *Designer) checkKeys(ctx context.Context, app string, cur *current, data []byte) error {
	nk := readKeys(data)
	if nk.App.Key == nil || *nk.App.Key != app {
		return engine.Invalid(engine.FieldError{Field: "/app/key", Code: "app_key", Message: engine.Tf("应用键必须是 %q", "the app key must be %q", app)})
	}
	if cur.data == nil {
		return nil
	}
	pub, err := d.published(ctx, app)
	if err != nil || pub == nil {
		return err
	}
	kept := map[string]bool{}
	for _, f := range nk.Forms {
		kept[f.Key] = true
	}
	for i, f := range readKeys(cur.data).Forms {
		pf := pub.Form(f.Key)
		if i >= len(nk.Forms) || kept[f.Key] || pf == nil || !hasFields(nk.Forms[i].Properties, pf) {
			continue
		}
		return keyChanged(fmt.Sprintf("/forms/%d/x-key", i), f.Key)
	}
	return nil
}

func hasFields(props map[string]json.RawMessage, f *engine.Form) bool {
	for _, fd := range f.Fields {
		if _, ok := props[fd.Key]; !ok {
			return false
		}
	}
	return true
}

func keyChanged(ptr, key string) error {
	return engine.Invalid(engine.FieldError{Field: ptr, Code: "key_published", Message: engine.Tf("%q 已发布，键不能再修改（记录按键保存）", "%q is published: its key cannot change (records are stored under it)", key)})
}

// published returns the app's published bundle, nil for an app never
// published.
func (d *Designer) published(ctx context.Context, app string) (*engine.Bundle, error) {
	b, _, err := d.svc.Bundle(ctx, app, 0)
	if engine.ErrorCode(err) == engine.ENOTFOUND {
		return nil, nil
	}
	return b, err
}
