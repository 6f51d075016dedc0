package web

import (
	"strconv"
	"strings"

	"formwork/engine"
)

// RowMark stands for the row number in the names and ids of a subform's
// new row (Field.Blank); app.js numbers the rows as they are added,
// removed and moved, so the rows post in the order they are shown.
const RowMark = "ROW"

// buildRows fills a subform's columns, its rows (the stored or posted
// ones and one empty row to type into) and the blank row new rows are
// made from. Computed columns show the server's value; a cell hidden by
// its row's rule is marked hidden; an error about a cell
// (/lines/2/qty) sits on that cell.
func buildRows(in FormInput, f *Field, fd *engine.Field) {
	rows, _ := in.Data[fd.Key].([]any)
	states := in.Rows[fd.Key]
	errs := rowErrors(in, fd.Key)
	for _, sub := range fd.Fields {
		f.Sub = append(f.Sub, cell(in.Lang, sub, fd.Key, RowMark, nil, f.Readonly))
	}
	f.Blank = f.Sub
	for i := 0; i <= len(rows); i++ {
		var row map[string]any
		if i < len(rows) {
			row, _ = rows[i].(map[string]any)
		}
		n := strconv.Itoa(i)
		var cells []*Field
		for _, sub := range fd.Fields {
			c := cell(in.Lang, sub, fd.Key, n, row[sub.Key], f.Readonly)
			if i < len(states) {
				if st, ok := states[i][sub.Key]; ok {
					c.Hidden, c.Required = !st.Visible, st.Required
				}
			}
			c.Error = errs[n+"/"+sub.Key]
			cells = append(cells, c)
		}
		f.Rows = append(f.Rows, cells)
	}
}

// cell is the view of column sub in row n of subform key.
func cell(lang string, sub *engine.Field, key, n string, v any, readonly bool) *Field {
	c := newField(lang, sub, key+"."+n+"."+sub.Key, v)
	c.Readonly = readonly
	if sub.Compute != "" {
		// the server's value; nothing is posted for it
		c.Widget, c.Computed, c.Readonly = engine.WidgetFormula, true, true
	}
	return c
}

// isCellError reports whether an error at pointer is about a cell of
// subform fv that the form shows as an input table.
func isCellError(fv *engine.FieldView, pointer string) bool {
	if !fv.Field.IsSubform() || fv.Perm != engine.PermEdit {
		return false
	}
	rest, ok := strings.CutPrefix(pointer, engine.JSONPointer(fv.Field.Key)+"/")
	return ok && strings.Count(rest, "/") == 1
}

// rowErrors returns the messages of errors about cells of subform key,
// by "ROW/COLUMN" (the first for each cell).
func rowErrors(in FormInput, key string) map[string]string {
	out := map[string]string{}
	prefix := engine.JSONPointer(key) + "/"
	for _, e := range in.Errors {
		rest, ok := strings.CutPrefix(e.Field, prefix)
		if !ok || strings.Count(rest, "/") != 1 {
			continue
		}
		if _, dup := out[rest]; !dup {
			out[rest] = e.Message.In(in.Lang)
		}
	}
	return out
}
