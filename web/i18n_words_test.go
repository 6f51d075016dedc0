package web

import (
	"testing"

	"formwork/engine"
)

// TestRowWhere: an error in a subform cell names its row (counted from 1)
// and column in the page's language; errors about the field itself or
// about no known column name nothing.
func TestRowWhere(t *testing.T) {
	b, err := engine.LoadBundle([]byte(`{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"roles":[],"workflows":[],
	  "forms":[{"x-key":"f","type":"object","properties":{
	    "lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{
	      "tel":{"type":"string","x-widget":"phone","x-label":{"zh":"电话","en":"Phone"}}}}},
	    "name":{"type":"string","x-widget":"text"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := b.Form("f")
	for _, tt := range []struct {
		field, ptr, lang, want string
	}{
		{"lines", "/lines/1/tel", LangZh, "第 2 行“电话”："},
		{"lines", "/lines/0/tel", LangEn, "Row 1, Phone: "},
		{"lines", "/lines", LangZh, ""},
		{"lines", "/lines/x/tel", LangZh, ""},
		{"lines", "/lines/0/nope", LangZh, ""},
		{"name", "/name", LangZh, ""},
	} {
		if got := rowWhere(tt.lang, f.Field(tt.field), tt.ptr); got != tt.want {
			t.Errorf("rowWhere(%s, %s) = %q, want %q", tt.ptr, tt.lang, got, tt.want)
		}
	}
}
