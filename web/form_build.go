package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"formwork/engine"
)

// FormInput is what BuildForm needs: the fields the user may see (with
// their permissions), the layout, the values to show, the rule states
// from the engine (nil: every field visible) and the errors to place.
type FormInput struct {
	Lang   string
	Fields []*engine.FieldView
	Layout []engine.Section
	Data   map[string]any
	States map[string]engine.FieldState
	Errors []engine.FieldError

	// FileURL gives the download address of an upload held by a field
	// (nil or "": not downloadable yet, e.g. before the record is saved).
	FileURL func(key string, ref engine.BlobRef) string
	// PickURL gives the search endpoint of a member, unit or relation
	// field; Picked holds the labels of the values shown, by field key.
	PickURL func(key string) string
	Picked  map[string]string
	// FillURL gives what picking a record in a relation with x-fill fills
	// in (nil: the page does not fill on pick; the server still does).
	FillURL func(key string) string
	// Units is the unit tree for unit fields' plain selects.
	Units []Option
	// Rows are the states of subform columns that carry rules, by
	// subform key and row (engine.EvalResult.Rows).
	Rows map[string][]map[string]engine.FieldState
}

// Files turns an attachment or image value into the uploads it holds;
// a string that is not an upload reference (e.g. imported sample data)
// is shown by itself.
func Files(v any, url func(engine.BlobRef) string) []File {
	var vals []string
	switch x := v.(type) {
	case string:
		vals = []string{x}
	case []any:
		for _, it := range x {
			if s, ok := it.(string); ok {
				vals = append(vals, s)
			}
		}
	}
	var out []File
	for _, s := range vals {
		if s == "" {
			continue
		}
		ref, ok := engine.ParseBlobRef(s)
		if !ok {
			out = append(out, File{Ref: s, Name: s})
			continue
		}
		fl := File{Ref: s, Name: ref.Name, Size: HumanSize(ref.Size), Type: ref.Type, Image: ref.IsImage()}
		if url != nil {
			fl.URL = url(ref)
			if fl.Image {
				fl.Thumb = fl.URL + "?thumb=1"
			}
		}
		out = append(out, fl)
	}
	return out
}

// HumanSize renders a byte count as B, KB or MB.
func HumanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1024*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MB"
}

// Accepted file types for the file inputs (the server sniffs the bytes
// whatever the browser lets through).
const (
	acceptImages      = "image/png,image/jpeg,image/gif,image/webp"
	acceptAttachments = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.pdf,.txt,.docx,.xlsx,.pptx"
)

// BuildForm lays the fields out in the form's sections (fields no section
// names go into a last, untitled one) and places each error next to its
// field; errors not tied to a shown field are returned apart.
func BuildForm(in FormInput) ([]Section, []string) {
	byKey := make(map[string]*engine.FieldView, len(in.Fields))
	for _, fv := range in.Fields {
		byKey[fv.Field.Key] = fv
	}
	errs := map[string]string{}
	var other []string
	for _, e := range in.Errors {
		key := ErrorKey(e.Field)
		if fv, ok := byKey[key]; ok && isCellError(fv, e.Field) {
			continue // shown on its row (form_rows.go)
		}
		if fv, ok := byKey[key]; ok && key != "" {
			if errs[key] == "" {
				errs[key] = FieldErrorText(in.Lang, fv.Field, e)
			}
			continue
		}
		other = append(other, e.Message.In(in.Lang))
	}
	used := map[string]bool{}
	var out []Section
	for _, s := range in.Layout {
		sec := Section{Columns: s.Columns, Collapsed: s.Collapsed}
		if s.Title != nil {
			sec.Title = s.Title.In(in.Lang)
		}
		for _, k := range s.Fields {
			fv, ok := byKey[k]
			if !ok || used[k] {
				continue
			}
			used[k] = true
			sec.Fields = append(sec.Fields, buildField(in, fv, errs[k]))
		}
		if len(sec.Fields) > 0 {
			out = append(out, sec)
		}
	}
	var rest Section
	for _, fv := range in.Fields {
		if !used[fv.Field.Key] {
			rest.Fields = append(rest.Fields, buildField(in, fv, errs[fv.Field.Key]))
		}
	}
	if len(rest.Fields) > 0 {
		out = append(out, rest)
	}
	for i := range out {
		if out[i].Columns < 1 {
			out[i].Columns = 1
		}
		if out[i].Columns > 4 {
			out[i].Columns = 4
		}
	}
	return out, other
}

// ErrorKey returns the top-level field key a JSON pointer points into.
func ErrorKey(pointer string) string {
	k := strings.TrimPrefix(pointer, "/")
	if i := strings.IndexByte(k, '/'); i >= 0 {
		k = k[:i]
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~")
}

func buildField(in FormInput, fv *engine.FieldView, errMsg string) *Field {
	fd := fv.Field
	f := newField(in.Lang, fd, fd.Key, in.Data[fd.Key])
	f.Error = errMsg
	st, ok := in.States[fd.Key]
	if in.States != nil && ok {
		f.Hidden = !st.Visible
		f.Required = st.Required
		f.Readonly = st.Readonly
		f.Computed = st.Computed
	} else {
		f.Required = fd.Required == "true"
	}
	if fv.Perm != engine.PermEdit || fd.Widget == engine.WidgetFormula || fd.Widget == engine.WidgetSerial {
		f.Readonly = true
	}
	if fd.Widget == engine.WidgetAttachment || fd.Widget == engine.WidgetImage {
		var url func(engine.BlobRef) string
		if in.FileURL != nil {
			url = func(r engine.BlobRef) string { return in.FileURL(fd.Key, r) }
		}
		f.Files = Files(in.Data[fd.Key], url)
		f.Accept = acceptAttachments
		if fd.Widget == engine.WidgetImage {
			f.Accept = acceptImages
		}
	}
	switch fd.Widget {
	case engine.WidgetMember, engine.WidgetUnit, engine.WidgetRelation:
		if in.PickURL != nil {
			f.PickURL = in.PickURL(fd.Key)
		}
		f.Picked = in.Picked[fd.Key]
		if in.FillURL != nil && len(fd.Fill) > 0 {
			f.FillURL = in.FillURL(fd.Key)
		}
		if fd.Widget == engine.WidgetUnit {
			f.Choices = in.Units
		}
	}
	if fv.Perm != engine.PermEdit && fd.Widget != engine.WidgetFormula && fd.Widget != engine.WidgetSerial {
		// read or masked: shown as text, not as an input
		f.Static = true
		f.Display = DisplayValue(in.Lang, fd, in.Data[fd.Key])
		if f.Picked != "" {
			f.Display = f.Picked
		}
		return f
	}
	if fd.IsSubform() {
		buildRows(in, f, fd)
	}
	return f
}

// newField builds the view of one field (or subform cell) named name.
func newField(lang string, fd *engine.Field, name string, v any) *Field {
	id := "f-" + strings.ReplaceAll(name, ".", "-")
	f := &Field{Key: fd.Key, ID: id, Name: name, Label: fd.LabelOr().In(lang), Widget: fd.Widget, Type: fd.Type, Input: "text"}
	if fd.Help != nil {
		f.Help = fd.Help.In(lang)
	}
	if fd.Unit != nil {
		f.Unit = fd.Unit.In(lang)
	}
	f.Multi = fd.Type == "array"
	switch fd.Widget {
	case engine.WidgetNumber, engine.WidgetMoney:
		f.Input, f.Step = "number", "any"
		if fd.Type == "integer" {
			f.Step = "1"
		} else if fd.Widget == engine.WidgetMoney {
			f.Step = "0.01"
		}
	case engine.WidgetDate:
		f.Input = "date"
	case engine.WidgetDatetime:
		f.Input = "datetime-local"
	case engine.WidgetPhone:
		f.Input = "tel"
	case engine.WidgetEmail:
		f.Input = "email"
	}
	if fd.Widget == "" {
		switch fd.Type {
		case "number", "integer":
			f.Input, f.Step = "number", "any"
		case "boolean":
			f.Widget = engine.WidgetCheckbox
		}
	}
	selected := map[string]bool{}
	switch x := v.(type) {
	case []any:
		var lines []string
		for _, it := range x {
			s := FormatValue(it)
			selected[s] = true
			lines = append(lines, s)
		}
		f.Value = strings.Join(lines, "\n")
	case bool:
		f.Checked = x
		f.Value = FormatValue(x)
	default:
		f.Value = FormatValue(v)
		if v != nil {
			selected[f.Value] = true
		}
	}
	if fd.Widget == engine.WidgetDatetime && f.Value != "" {
		if t, err := time.Parse(time.RFC3339, f.Value); err == nil {
			f.Value = t.UTC().Format("2006-01-02T15:04")
		}
	}
	for i, o := range fd.Options {
		val := FormatValue(o.Value)
		f.Options = append(f.Options, Option{Value: val, Label: o.Label.In(lang), Selected: selected[val], ID: fmt.Sprintf("%s-%d", id, i)})
	}
	return f
}

// FormatValue renders a stored JSON value as text.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = FormatValue(it)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + FormatValue(x[k])
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

// DisplayValue renders a value for reading: option labels instead of
// option values, yes/no for booleans, subform rows one per line.
func DisplayValue(lang string, fd *engine.Field, v any) string {
	if fd == nil {
		return FormatValue(v)
	}
	if fd.Widget == engine.WidgetAttachment || fd.Widget == engine.WidgetImage {
		var names []string
		for _, f := range Files(v, nil) {
			names = append(names, f.Name)
		}
		return strings.Join(names, ", ")
	}
	label := func(x any) string {
		s := FormatValue(x)
		for _, o := range fd.Options {
			if FormatValue(o.Value) == s {
				return o.Label.In(lang)
			}
		}
		return s
	}
	switch x := v.(type) {
	case bool:
		if x {
			return Msg(lang, "form.yes")
		}
		return "—"
	case []any:
		if fd.IsSubform() {
			var rows []string
			for _, r := range x {
				m, _ := r.(map[string]any)
				var cells []string
				for _, sub := range fd.Fields {
					if s := FormatValue(m[sub.Key]); s != "" {
						cells = append(cells, sub.LabelOr().In(lang)+": "+s)
					}
				}
				rows = append(rows, strings.Join(cells, ", "))
			}
			return strings.Join(rows, " | ")
		}
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = label(it)
		}
		return strings.Join(parts, ", ")
	}
	return label(v)
}
