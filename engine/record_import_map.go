package engine

import (
	"maps"
	"slices"
	"strings"
	"unicode"
)

// ImportTable is a spreadsheet as read from an uploaded file (package
// exchange reads .xlsx and .csv into it): the header row's cells and the
// data rows under it, each with its row number as in the file.
type ImportTable struct {
	Headers []string    `json:"headers"`
	Rows    []ImportRow `json:"rows"`
}

// ImportRow is one data row of an ImportTable.
type ImportRow struct {
	N     int      `json:"n"` // the row number as in the file (1 = the first line)
	Cells []string `json:"cells"`
}

// ImportColumn is how one column of an import is read: the field it
// fills (empty: ignored) and, when it is ignored for a reason the user
// should know, why.
type ImportColumn struct {
	Index  int    `json:"index"`  // 0-based
	Letter string `json:"letter"` // A, B, …, as the spreadsheet names it
	Header string `json:"header"`
	Field  string `json:"field,omitempty"`
	Note   *Text  `json:"note,omitempty"`
}

// ImportField is a field a column may be mapped to, for the mapping screen.
type ImportField struct {
	Key   string `json:"key"`
	Label Text   `json:"label"`
}

// ColumnLetter is the spreadsheet name of the 0-based column i (A, …, Z, AA, …).
func ColumnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// importable reports whether a column can fill fd: values a cell can hold
// (no subforms, files or objects), and not computed by the server.
func importable(fd *Field) bool {
	switch fd.Widget {
	case WidgetFormula, WidgetSerial, WidgetSubform, WidgetAttachment, WidgetImage:
		return false
	}
	if fd.Compute != "" {
		return false
	}
	switch fd.Type {
	case "string", "number", "integer", "boolean":
		return true
	case "array":
		return fd.ItemType == "string" && len(fd.Options) > 0
	}
	return false
}

// importFields lists the fields of f a column may fill for a user with
// access acc: importable ones the user may see (a field the user may see
// but not edit is offered too, so that a value for it is refused in the
// report rather than silently dropped).
func importFields(f *Form, acc *Access) []*Field {
	var out []*Field
	for _, fd := range f.Fields {
		if importable(fd) && acc.Field(fd.Key) != PermHidden {
			out = append(out, fd)
		}
	}
	return out
}

// normHeader folds a header or label for matching: no spaces, lower case,
// without a trailing required-mark or colon.
func normHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	return strings.TrimRight(s, "*＊:：")
}

// autoColumns matches headers to fields by key or label (zh or en). A
// header matching a field an earlier column already took is a duplicate
// and stays unmapped; so does a header matching nothing.
func autoColumns(headers []string, fields []*Field) []ImportColumn {
	byName := map[string]string{}
	for _, fd := range fields {
		for _, n := range []string{fd.Key, fd.Label.Zh, fd.Label.En} {
			if n = normHeader(n); n != "" {
				if _, taken := byName[n]; !taken {
					byName[n] = fd.Key
				}
			}
		}
	}
	used := map[string]int{}
	cols := make([]ImportColumn, len(headers))
	for i, h := range headers {
		c := ImportColumn{Index: i, Letter: ColumnLetter(i), Header: h}
		switch key, ok := byName[normHeader(h)]; {
		case strings.TrimSpace(h) == "":
			c.Note = ptrText(T("没有列标题，已忽略", "no header: ignored"))
		case !ok:
			c.Note = ptrText(T("没有对应的字段，已忽略", "matches no field: ignored"))
		case used[key] > 0:
			c.Note = ptrText(Tf("与 %s 列标题重复，已忽略", "the same header as column %s: ignored", ColumnLetter(used[key]-1)))
		default:
			c.Field = key
			used[key] = i + 1
		}
		cols[i] = c
	}
	return cols
}

func ptrText(t Text) *Text { return &t }

// applyMapping sets the columns' fields from a mapping chosen by the user
// (column letter → field key, "" to ignore); columns it leaves out keep
// their automatic match. Unknown columns or fields, a field the user may
// not import, and two columns for one field are refused.
func applyMapping(cols []ImportColumn, mapping map[string]string, fields []*Field) error {
	allowed := map[string]bool{}
	for _, fd := range fields {
		allowed[fd.Key] = true
	}
	byLetter := map[string]int{}
	for i, c := range cols {
		byLetter[c.Letter] = i
	}
	var bad []FieldError
	for _, letter := range slices.Sorted(maps.Keys(mapping)) {
		key := mapping[letter]
		i, ok := byLetter[letter]
		if !ok {
			bad = append(bad, FieldError{Field: "/mapping/" + letter, Code: "unknown_column", Message: Tf("文件中没有 %s 列", "the file has no column %s", letter)})
			continue
		}
		if key != "" && !allowed[key] {
			bad = append(bad, FieldError{Field: "/mapping/" + letter, Code: "unknown_field", Message: Tf("%s 列不能导入到所选字段", "column %s cannot go into the chosen field", letter)})
			continue
		}
		if cols[i].Field == key {
			continue // as matched: keep its note
		}
		cols[i].Field, cols[i].Note = key, nil
		if key == "" {
			cols[i].Note = ptrText(T("已选择忽略", "ignored as chosen"))
		}
	}
	seen := map[string]string{}
	for _, c := range cols {
		if c.Field == "" {
			continue
		}
		if prev, dup := seen[c.Field]; dup {
			bad = append(bad, FieldError{Field: "/mapping/" + c.Letter, Code: "duplicate", Message: Tf("%s 列和 %s 列对应同一个字段", "columns %s and %s go into the same field", prev, c.Letter)})
		}
		seen[c.Field] = c.Letter
	}
	if len(bad) > 0 {
		return Invalid(bad...)
	}
	return nil
}
