package engine

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// developerWords are what staff must never read in a message about a
// value: a keyword, a JSON type name, the validator's "got … want", a
// regular expression.
var developerWords = regexp.MustCompile(`(?i)\b(got|want|pattern|minLength|maxLength|minimum|maximum|minItems|maxItems|uniqueItems|multipleOf|exclusive\w*|enum|const|string|array|object|boolean|integer)\b|[\^$\\{}]|\[[0-9A-Z]`)

func plainEnough(tb testing.TB, what string, m Text) {
	tb.Helper()
	if m.Zh == "" || m.En == "" || m.Zh == m.En {
		tb.Errorf("%s: %q / %q is not in both languages", what, m.Zh, m.En)
	}
	for _, s := range []string{m.Zh, m.En} {
		if developerWords.MatchString(s) {
			tb.Errorf("%s: %q shows developer words (%q)", what, s, developerWords.FindString(s))
		}
	}
}

// TestValueMessagesEveryKeyword: every keyword a form may use, broken by
// a value, gives a plain sentence in both languages — the keyword stays
// in the code — and fields of a known meaning say what a good value is.
func TestValueMessagesEveryKeyword(t *testing.T) {
	tests := []struct {
		name, schema string
		value        any
		code         string
		zh, en       string
	}{
		{"type", `{"type":"array","items":{"type":"string","enum":["a"]},"x-widget":"checkbox"}`, "a", "type", "应填写一组值", "Must be a list of values"},
		{"type number", `{"type":"number","x-widget":"number"}`, "12", "type", "应填写数字", "Must be a number"},
		{"type integer", `{"type":"integer","x-widget":"number"}`, 1.5, "type", "应填写整数", "Must be a whole number"},
		{"type boolean", `{"type":"boolean","x-widget":"checkbox"}`, "yes", "type", "应填写是或否", "Must be yes or no"},
		{"enum", `{"type":"string","enum":["a","b"],"x-widget":"select","x-options":{"a":{"zh":"甲","en":"First"},"b":"B"}}`, "c", "enum",
			"请从以下选项中选择：甲、B", "Choose one of: First, B"},
		{"const", `{"type":"string","const":"yes","x-widget":"text"}`, "no", "const", "值不符合要求", "Not the value required here"},
		{"format date", `{"type":"string","format":"date","x-widget":"date"}`, "31/01/2026", "format",
			"请填写有效的日期，例如 2026-01-31", "Enter a valid date, e.g. 2026-01-31"},
		{"format date-time", `{"type":"string","format":"date-time","x-widget":"datetime"}`, "soon", "format",
			"请填写有效的日期和时间，例如 2026-01-31 09:30", "Enter a valid date and time, e.g. 2026-01-31 09:30"},
		{"format time", `{"type":"string","format":"time","x-widget":"text"}`, "noon", "format", "请填写有效的时间，例如 09:30", "Enter a valid time, e.g. 09:30"},
		{"format email", `{"type":"string","format":"email","x-widget":"text"}`, "a@", "format",
			"邮箱格式不正确，例如 name@example.com", "Not a valid email address, e.g. name@example.com"},
		{"format uri", `{"type":"string","format":"uri","x-widget":"text"}`, "::", "format",
			"请填写有效的网址，例如 https://example.com", "Enter a valid web address, e.g. https://example.com"},
		{"format uuid", `{"type":"string","format":"uuid","x-widget":"text"}`, "x", "format", "编号格式不正确", "Not a valid identifier"},
		{"minLength", `{"type":"string","minLength":2,"x-widget":"text"}`, "a", "minLength", "太短：至少填写 2 个字（现在 1 个）", "Too short: at least 2 characters (now 1)"},
		{"maxLength", `{"type":"string","maxLength":3,"x-widget":"text"}`, "张三丰的", "maxLength", "太长：最多 3 个字（现在 4 个）", "Too long: at most 3 characters (now 4)"},
		{"pattern", `{"type":"string","pattern":"^[0-9]{8,20}$","x-widget":"text"}`, "12", "pattern", "格式不正确", "Not in the expected form"},
		{"minimum", `{"type":"number","minimum":1,"x-widget":"number"}`, 0.0, "minimum", "不能小于 1", "Must be at least 1"},
		{"maximum", `{"type":"number","maximum":0.5,"x-widget":"number"}`, 0.9, "maximum", "不能大于 0.5", "Must be at most 0.5"},
		{"exclusiveMinimum", `{"type":"number","exclusiveMinimum":0,"x-widget":"money"}`, 0.0, "exclusiveMinimum", "必须大于 0", "Must be more than 0"},
		{"exclusiveMaximum", `{"type":"number","exclusiveMaximum":100,"x-widget":"number"}`, 100.0, "exclusiveMaximum", "必须小于 100", "Must be less than 100"},
		{"multipleOf", `{"type":"number","multipleOf":0.01,"x-widget":"money"}`, 1.005, "multipleOf", "必须是 0.01 的整数倍", "Must be a multiple of 0.01"},
		{"minItems", `{"type":"array","items":{"type":"string","enum":["a","b"]},"minItems":2,"x-widget":"checkbox"}`, []any{"a"}, "minItems",
			"至少需要 2 项（现在 1 项）", "Needs at least 2 entries (now 1)"},
		{"maxItems rows", `{"type":"array","maxItems":100,"x-widget":"subform","items":{"type":"object","properties":{"q":{"type":"number","x-widget":"number"}}}}`,
			make([]any, 10000), "maxItems", "最多 100 行（现在 10000 行）", "At most 100 rows (now 10000)"},
		{"uniqueItems", `{"type":"array","items":{"type":"string","enum":["a","b"]},"uniqueItems":true,"x-widget":"checkbox"}`, []any{"a", "a"}, "uniqueItems",
			"第 1 项和第 2 项重复了", "Entries 1 and 2 are the same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := widgetForm(t, `"v":`+tt.schema, "")
			if tt.name == "maxItems rows" {
				for i := range tt.value.([]any) {
					tt.value.([]any)[i] = map[string]any{"q": 1.0}
				}
			}
			res := cf.Evaluate(EvalInput{Data: map[string]any{"v": tt.value}, Now: testNow})
			want := []FieldError{{Field: "/v", Code: tt.code, Message: T(tt.zh, tt.en)}}
			if diff := cmp.Diff(want, res.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range res.Errors {
				plainEnough(t, tt.name, e.Message)
			}
		})
	}
}

// TestValueMessagesMeaning: a phone, an ID number, a VIN, a plate, an
// email and a bank card say what a good value looks like, by widget, by
// data class or by the pattern the designer's presets and the templates
// use; in a subform row too.
func TestValueMessagesMeaning(t *testing.T) {
	tests := []struct {
		name, schema string
		value        any
		field        string
		zh           string
	}{
		{"phone widget", `{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-widget":"phone"}`, "123", "/v", "手机号格式不正确，应为11位数字"},
		{"phone class", `{"type":"string","pattern":"^1[0-9]{10}$","x-widget":"text","x-sensitive":"phone"}`, "123", "/v", "手机号格式不正确，应为11位数字"},
		{"id number", `{"type":"string","pattern":"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$","x-widget":"id_number"}`,
			"110101", "/v", "身份证号格式不正确，应为18位（最后一位可为X）"},
		{"vin by pattern, its length too", `{"type":"string","pattern":"^[A-HJ-NPR-Z0-9]{17}$","minLength":17,"maxLength":17,"x-widget":"text"}`,
			"LSVAB", "/v", "车架号格式不正确，应为17位字母或数字（不含 I、O、Q）"},
		{"plate", `{"type":"string","pattern":"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]$","x-widget":"text"}`,
			"A12345", "/v", "车牌号格式不正确，例如 京A12345"},
		{"email widget", `{"type":"string","pattern":"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$","x-widget":"email"}`, "a@b", "/v", "邮箱格式不正确，例如 name@example.com"},
		{"bank card", `{"type":"string","pattern":"^[0-9]{12,30}$","x-widget":"text","x-sensitive":"bank_card"}`, "12", "/v", "银行卡号格式不正确，应为数字"},
		{"phone in a row", `{"type":"array","x-widget":"subform","items":{"type":"object","properties":{
			"who":{"type":"string","x-widget":"text"},"tel":{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-widget":"phone"}}}}`,
			[]any{map[string]any{"who": "a", "tel": "13800138000"}, map[string]any{"who": "b", "tel": "99"}}, "/v/1/tel", "手机号格式不正确，应为11位数字"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := widgetForm(t, `"v":`+tt.schema, "")
			res := cf.Evaluate(EvalInput{Data: map[string]any{"v": tt.value}, Now: testNow})
			if len(res.Errors) == 0 {
				t.Fatalf("no errors, want one at %s reading %q", tt.field, tt.zh)
			}
			for _, e := range res.Errors {
				if e.Field != tt.field || e.Message.Zh != tt.zh {
					t.Errorf("error %+v, want one at %s reading %q", e, tt.field, tt.zh)
				}
				plainEnough(t, tt.name, e.Message)
			}
		})
	}
}

// TestValueMessagesOwnWords: x-messages per keyword wins over x-message,
// which wins over the field's meaning; a missing required value keeps
// "请填写…" unless x-messages.required says otherwise; a row's column
// has its own words too.
func TestValueMessagesOwnWords(t *testing.T) {
	cf := widgetForm(t, `
		"a":{"type":"string","pattern":"^1[3-9][0-9]{9}$","maxLength":11,"x-widget":"phone","x-label":{"zh":"手机","en":"Mobile"},
		     "x-message":{"zh":"请填客户的手机","en":"Enter the customer's mobile"}},
		"b":{"type":"string","pattern":"^1[3-9][0-9]{9}$","maxLength":11,"x-widget":"phone",
		     "x-message":"随便","x-messages":{"pattern":{"zh":"十一位","en":"Eleven digits"}}},
		"c":{"type":"string","x-widget":"text","x-label":{"zh":"备注","en":"Note"},"x-message":"never for required"},
		"d":{"type":"string","x-widget":"text","x-messages":{"required":{"zh":"门店必须填写","en":"The store is needed"}}},
		"rows":{"type":"array","x-widget":"subform","items":{"type":"object","required":["q"],"properties":{
		     "q":{"type":"number","minimum":1,"x-widget":"number","x-messages":{"minimum":{"zh":"数量至少为1","en":"At least one"},"required":"数量必填"}}}}}`,
		`,"required":["c","d"]`)
	res := cf.Evaluate(EvalInput{Data: map[string]any{"a": "1", "b": "123456789012", "rows": []any{map[string]any{"q": 0.0}, map[string]any{}}}, Now: testNow})
	got := errorWords(res.Errors)
	want := map[string]string{
		"/a pattern":         "请填客户的手机 / Enter the customer's mobile",
		"/b pattern":         "十一位 / Eleven digits",
		"/b maxLength":       "随便 / 随便",
		"/c required":        "请填写备注 / Note is required",
		"/d required":        "门店必须填写 / The store is needed",
		"/rows/0/q minimum":  "数量至少为1 / At least one",
		"/rows/1/q required": "数量必填 / 数量必填",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestPlainWordsEveryKind: keywords a form cannot hold today (the
// validator knows them all) still read as plain sentences, so a future
// keyword never shows "got … want".
func TestPlainWordsEveryKind(t *testing.T) {
	r := big.NewRat(3, 1)
	kinds := []jsonschema.ErrorKind{
		&kind.InvalidJsonValue{}, &kind.Not{}, &kind.AllOf{}, &kind.AnyOf{}, &kind.OneOf{}, &kind.FalseSchema{},
		&kind.Type{Got: "string", Want: []string{"number", "null"}}, &kind.Enum{Got: "x", Want: []any{"a"}},
		&kind.Const{Got: 1, Want: 2}, &kind.Format{Got: "x", Want: "ipv4"}, &kind.Format{Want: "hostname"}, &kind.Format{Want: "duration"},
		&kind.MinProperties{Got: 0, Want: 1}, &kind.MaxProperties{Got: 3, Want: 2}, &kind.MinItems{Got: 0, Want: 1},
		&kind.MaxItems{Got: 3, Want: 2}, &kind.AdditionalItems{Count: 1}, &kind.Required{Missing: []string{"a"}},
		&kind.Dependency{Prop: "a", Missing: []string{"b"}}, &kind.DependentRequired{Prop: "a", Missing: []string{"b"}},
		&kind.AdditionalProperties{Properties: []string{"zz"}}, &kind.PropertyNames{Property: "Zz"},
		&kind.UniqueItems{Duplicates: [2]int{0, 3}}, &kind.Contains{}, &kind.MinContains{Got: []int{}, Want: 1},
		&kind.MaxContains{Got: []int{1, 2}, Want: 1}, &kind.MinLength{Got: 1, Want: 2}, &kind.MaxLength{Got: 3, Want: 2},
		&kind.Pattern{Got: "x", Want: "^y$"}, &kind.ContentEncoding{Want: "base64"}, &kind.ContentMediaType{Want: "application/json"},
		&kind.ContentSchema{}, &kind.Minimum{Got: r, Want: r}, &kind.Maximum{Got: r, Want: r}, &kind.ExclusiveMinimum{Got: r, Want: r},
		&kind.ExclusiveMaximum{Got: r, Want: r}, &kind.MultipleOf{Got: r, Want: big.NewRat(1, 4)},
	}
	for _, k := range kinds {
		plainEnough(t, fmt.Sprintf("%T", k), plainWords(k, nil))
	}
}

// FuzzValueMessages: whatever a person types into a form's fields, every
// error reads in both languages without a regular expression, a keyword
// or the validator's wording, and the evaluation never panics.
func FuzzValueMessages(f *testing.F) {
	b, err := LoadBundle(widgetBundle(`
		"code":{"type":"string","pattern":"^[0-9]{8,20}$","minLength":2,"maxLength":20,"x-widget":"text"},
		"tel":{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-widget":"phone"},
		"day":{"type":"string","format":"date","x-widget":"date"},
		"n":{"type":"number","minimum":1,"maximum":99,"multipleOf":0.5,"x-widget":"number"},
		"lvl":{"type":"string","enum":["a","b"],"x-widget":"select"},
		"tags":{"type":"array","items":{"type":"string","enum":["x","y"]},"uniqueItems":true,"maxItems":1,"x-widget":"checkbox"}`, ""))
	if err != nil {
		f.Fatal(err)
	}
	cf := b.Compiled("f")
	for _, s := range []string{"", "12", "abc", "2026-13-45", "1e400", "[1,2]", "x", "130000000000"} {
		f.Add(s, 3.5)
	}
	f.Fuzz(func(t *testing.T, s string, n float64) {
		data := map[string]any{"code": s, "tel": s, "day": s, "n": n, "lvl": s, "tags": []any{s, s}}
		res := cf.Evaluate(EvalInput{Data: data, Now: testNow})
		for _, e := range res.Errors {
			for _, m := range []string{e.Message.Zh, e.Message.En} {
				if m == "" {
					t.Errorf("%s %s: empty message", e.Field, e.Code)
				}
				stripped := strings.ReplaceAll(m, s, "") // the value itself may be quoted back
				if developerWords.MatchString(stripped) {
					t.Errorf("%s %s: %q shows developer words", e.Field, e.Code, m)
				}
			}
		}
	})
}

// errorWords reads errors as "pointer code" → "zh / en".
func errorWords(errs []FieldError) map[string]string {
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field+" "+e.Code] = e.Message.Zh + " / " + e.Message.En
	}
	return got
}
