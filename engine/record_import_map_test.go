package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAutoColumns(t *testing.T) {
	fields := []*Field{
		{Key: "name", Type: "string", Label: T("姓名", "Name")},
		{Key: "phone", Type: "string", Label: T("手机号", "Mobile")},
		{Key: "level", Type: "string", Label: T("等级", "Level")},
	}
	cols := autoColumns([]string{" 姓名* ", "MOBILE", "level", "", "备注", "Name"}, fields)
	var got []string
	for _, c := range cols {
		s := c.Letter + ":" + c.Field
		if c.Note != nil {
			s += " (" + c.Note.En + ")"
		}
		got = append(got, s)
	}
	want := []string{"A:name", "B:phone", "C:level", "D: (no header: ignored)", "E: (matches no field: ignored)", "F: (the same header as column A: ignored)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := applyMapping(cols, map[string]string{"F": "name"}, fields); ErrorCode(err) != EINVALID {
		t.Errorf("two columns for name: %v", err)
	}
	if err := applyMapping(cols, map[string]string{"A": "", "F": "name", "E": "level", "C": ""}, fields); err != nil {
		t.Errorf("a valid remapping: %v", err)
	}
	if ColumnLetter(0) != "A" || ColumnLetter(25) != "Z" || ColumnLetter(26) != "AA" || ColumnLetter(701) != "ZZ" {
		t.Error("column letters")
	}
}
