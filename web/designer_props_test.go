package web

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestPropsMessages: every text the properties panel asks for exists in
// both languages (a missing one would show its key to a manager), and the
// formula builder offers only functions rules may call.
func TestPropsMessages(t *testing.T) {
	keys := []string{"form.section_more"}
	for _, k := range propsScriptMsgs {
		keys = append(keys, "dz.p."+k)
	}
	for _, k := range presetMsgs {
		keys = append(keys, "dz.p.msg."+k)
	}
	for _, f := range FormulaFunctions {
		keys = append(keys, "dz.p.fn."+f)
		if !slices.Contains(engine.ExprFunctions, f) {
			t.Errorf("the formula builder offers %s, which rules may not call", f)
		}
	}
	for _, k := range keys {
		m, ok := messages[k]
		if !ok || m[0] == "" || m[1] == "" {
			t.Errorf("message %s missing in a language: %q", k, m)
		}
	}
	m := designerMsgs(LangZh)
	if p := m["p"].(map[string]string); p["rule_visible"] != "显示条件" {
		t.Errorf("the script's texts: %v", p["rule_visible"])
	}
	if pr := m["presets"].(map[string]map[string]string); pr["phone"]["en"] == "" || pr["phone"]["zh"] == "" {
		t.Errorf("a preset's words are written in both languages: %v", pr["phone"])
	}
}

// TestBuildFormSections: a section keeps its columns up to 4 and says
// whether it is folded; a folded section opens when one of its fields
// has an error.
func TestBuildFormSections(t *testing.T) {
	fields := []*engine.FieldView{
		{Field: &engine.Field{Key: "a", Type: "string", Widget: "text"}, Perm: "edit"},
		{Field: &engine.Field{Key: "b", Type: "string", Widget: "text"}, Perm: "edit"},
		{Field: &engine.Field{Key: "c", Type: "string", Widget: "text"}, Perm: "edit"},
	}
	layout := []engine.Section{{Columns: 4, Fields: []string{"a"}}, {Columns: 9, Collapsed: true, Fields: []string{"b"}}, {Collapsed: true, Fields: []string{"c"}}}
	type sec struct {
		Columns         int
		Collapsed, Open bool
	}
	got := func(errs []engine.FieldError) []sec {
		secs, _ := BuildForm(FormInput{Lang: LangZh, Fields: fields, Layout: layout, Errors: errs})
		var out []sec
		for _, s := range secs {
			out = append(out, sec{s.Columns, s.Collapsed, s.Open()})
		}
		return out
	}
	want := []sec{{4, false, true}, {4, true, false}, {1, true, false}}
	if diff := cmp.Diff(want, got(nil)); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	want[2].Open = true
	if diff := cmp.Diff(want, got([]engine.FieldError{{Field: "/c", Code: "required", Message: engine.T("必填", "required")}})); diff != "" {
		t.Errorf("sections with an error in a folded one (-want +got):\n%s", diff)
	}
}
