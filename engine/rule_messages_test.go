package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOwnMessages: a field's x-messages replace the generic message of
// the keyword its value breaks (staff never read the pattern), and leave
// the other keywords' messages alone; x-fill and x-serial's date and per
// load, and x-fill is checked against both forms.
func TestOwnMessages(t *testing.T) {
	cf := widgetForm(t, `"phone":{"type":"string","pattern":"^1[3-9][0-9]{9}$","maxLength":11,"x-widget":"phone",
		"x-messages":{"pattern":{"zh":"请填写11位手机号","en":"Enter an 11-digit mobile number"}}},
		"n":{"type":"number","minimum":1,"x-widget":"number"},
		"link":{"type":"string","x-widget":"relation","x-relation":{"form":"other"},"x-fill":{"title":"note"}},
		"note":{"type":"string","x-widget":"text"},
		"no":{"type":"string","x-widget":"serial","x-serial":{"prefix":"SO-","date":"YYYYMMDD","digits":4,"per":"unit"}}`, "")
	res := cf.Evaluate(EvalInput{Data: map[string]any{"phone": "12345", "n": 0.0}, Now: testNow})
	got := errorWords(res.Errors)
	want := map[string]string{
		"/phone pattern": "请填写11位手机号 / Enter an 11-digit mobile number",
		"/n minimum":     "不能小于 1 / Must be at least 1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if f := cf.Form.Field("link"); f.Fill["title"] != "note" {
		t.Errorf("x-fill read as %v", f.Fill)
	}
	if s := cf.Form.Field("no").Serial; s.Date != "YYYYMMDD" || s.Per != "unit" {
		t.Errorf("x-serial read as %+v", s)
	}
	for _, bad := range []string{
		`"link":{"type":"string","x-widget":"relation","x-relation":{"form":"other"},"x-fill":{"nope":"link"}}`,
		`"link":{"type":"string","x-widget":"relation","x-relation":{"form":"other"},"x-fill":{"title":"nope"}}`,
		`"t":{"type":"string","x-widget":"text","x-fill":{"title":"t"}}`,
		`"t":{"type":"string","x-widget":"text","x-messages":{"nope":"no"}}`,
	} {
		if _, err := LoadBundle(widgetBundle(bad, "")); err == nil {
			t.Errorf("%s loaded", bad)
		}
	}
}
