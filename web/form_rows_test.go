package web

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestBuildRows: the rows shown are the data's and one empty row; a
// computed column is the server's output, a cell hidden by its row's rule
// is marked, and an error about a cell sits on it, not under the table;
// an error about the rows as a whole stays under the table.
func TestBuildRows(t *testing.T) {
	b, err := engine.LoadBundle([]byte(`{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"forms":[{"x-key":"o","type":"object","properties":{
		"lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{
			"kind":{"type":"string","x-widget":"text"},
			"qty":{"type":"number","x-widget":"number"},
			"serial":{"type":"string","x-widget":"text","x-visible":"kind == 'device'"},
			"total":{"type":"number","x-widget":"formula","x-compute":"qty * 2"}}}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	fields := []*engine.FieldView{{Field: b.Form("o").Field("lines"), Perm: engine.PermEdit}}
	data := map[string]any{"lines": []any{map[string]any{"kind": "part", "qty": 2.0, "total": 4.0}, map[string]any{"kind": "device", "qty": 1.0, "total": 2.0}}}
	rows := map[string][]map[string]engine.FieldState{"lines": {
		{"serial": {Visible: false}, "total": {Visible: true, Computed: true}},
		{"serial": {Visible: true}, "total": {Visible: true, Computed: true}}}}
	errs := []engine.FieldError{
		{Field: "/lines/1/serial", Code: "required", Message: engine.T("第 2 行：请填写序列号", "Row 2: Serial is required")},
		{Field: "/lines", Code: "maxItems", Message: engine.T("条目太多", "too many")},
	}
	secs, other := BuildForm(FormInput{Lang: LangZh, Fields: fields, Data: data, Rows: rows, Errors: errs})
	f := secs[0].Fields[0]
	type cellView struct {
		Name, Widget, Value, Error string
		Hidden                     bool
	}
	var got [][]cellView
	for _, r := range f.Rows {
		var cs []cellView
		for _, c := range r {
			cs = append(cs, cellView{c.Name, c.Widget, c.Value, c.Error, c.Hidden})
		}
		got = append(got, cs)
	}
	want := [][]cellView{
		{{"lines.0.kind", "text", "part", "", false}, {"lines.0.qty", "number", "2", "", false}, {"lines.0.serial", "text", "", "", true}, {"lines.0.total", "formula", "4", "", false}},
		{{"lines.1.kind", "text", "device", "", false}, {"lines.1.qty", "number", "1", "", false}, {"lines.1.serial", "text", "", "第 2 行：请填写序列号", false}, {"lines.1.total", "formula", "2", "", false}},
		{{"lines.2.kind", "text", "", "", false}, {"lines.2.qty", "number", "", "", false}, {"lines.2.serial", "text", "", "", false}, {"lines.2.total", "formula", "", "", false}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if f.Error != "条目太多" || len(other) != 0 {
		t.Errorf("under the table %q, apart %q; want only the error about the rows as a whole", f.Error, other)
	}
	if f.Blank[0].Name != "lines.ROW.kind" {
		t.Errorf("the blank row is named %q", f.Blank[0].Name)
	}
}

// FuzzParseRows posts any form to a subform's fields: parsing never
// panics, keeps at most the rows an index may name, and every row holds
// only the subform's columns that people type in (not computed ones).
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{
		"lines.0.qty=2&lines.0.product=a&lines.2.qty=1",
		"lines.ROW.qty=1&lines.-1.qty=2&lines.1001.qty=3&lines.x.qty=4",
		"lines.0.qty=abc&lines.0.nope=1&lines..qty=1&lines.0=1",
		"lines.00.qty=1&lines.0.qty=2",
		"lines.0.total=5&lines.1.total=6&lines.1.qty=1",
	} {
		f.Add(s)
	}
	b, err := engine.LoadBundle([]byte(`{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"forms":[{"x-key":"o","type":"object","properties":{
		"lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{
			"product":{"type":"string","x-widget":"text"},"qty":{"type":"number","x-widget":"number"},
			"total":{"type":"number","x-widget":"formula","x-compute":"qty * 2"}}}}}}]}`))
	if err != nil {
		f.Fatal(err)
	}
	fields := []*engine.FieldView{{Field: b.Form("o").Field("lines"), Perm: engine.PermEdit}}
	f.Fuzz(func(t *testing.T, q string) {
		vals, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		data, _ := ParseForm(LangZh, fields, vals)
		rows, _ := data["lines"].([]any)
		if len(rows) > 1001 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			for k := range r.(map[string]any) {
				if k != "product" && k != "qty" {
					t.Fatalf("row key %q", k)
				}
			}
		}
	})
}
