package designer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
	"github.com/xuri/excelize/v2"

	"formwork/engine"
)

// Limits of a sheet a new app starts from.
const (
	MaxSheetColumns = 200
	MaxSheetRows    = 5000
	// optionLimit is the most distinct values a column may hold and still
	// become a choice.
	optionLimit = 12
)

// SheetColumn is what a spreadsheet column became.
type SheetColumn struct {
	Header string `json:"header"`
	Key    string `json:"key"`
	Widget string `json:"widget"`
	Type   string `json:"type"`
}

// SheetApp is a new app's bundle made from a spreadsheet: one form whose
// fields are the header row, their widgets and types guessed from the
// values, and the rows as the bundle's sample data, so that publishing
// with sample data imports them as records.
type SheetApp struct {
	Bundle  json.RawMessage `json:"bundle"`
	Columns []SheetColumn   `json:"columns"`
	Rows    int             `json:"rows"`
}

// BundleFromSheet reads the first sheet of an .xlsx workbook, or a CSV file
// (UTF-8, a BOM allowed), named filename, and makes the bundle of a new
// app with key app. The header row gives the fields' labels (and keys:
// pinyin for Chinese); each column's values give its widget: whole
// numbers, numbers, dates, yes/no, mobile phones (sensitive), emails, a
// few repeated values (a choice), long text, else text. EINVALID for an
// empty sheet, a missing header, or more than MaxSheetColumns columns or
// MaxSheetRows rows.
func BundleFromSheet(app string, name engine.Text, filename string, r io.Reader) (*SheetApp, error) {
	rows, err := readSheet(filename, r)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(nonEmpty(rows[0])) == 0 {
		return nil, sheetError("表格是空的，或第一行没有列名", "the sheet is empty, or its first row has no column names")
	}
	header, data := rows[0], rows[1:]
	if len(header) > MaxSheetColumns {
		return nil, sheetError(fmt.Sprintf("列太多（%d 列，最多 %d 列）", len(header), MaxSheetColumns), fmt.Sprintf("too many columns (%d, at most %d)", len(header), MaxSheetColumns))
	}
	if len(data) > MaxSheetRows {
		return nil, sheetError(fmt.Sprintf("行太多（%d 行，最多 %d 行）", len(data), MaxSheetRows), fmt.Sprintf("too many rows (%d, at most %d)", len(data), MaxSheetRows))
	}
	taken := map[string]bool{}
	props := map[string]any{}
	var order []string
	var cols []SheetColumn
	var guesses []columnGuess
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		vals := make([]string, 0, len(data))
		for _, row := range data {
			if i < len(row) {
				vals = append(vals, strings.TrimSpace(row[i]))
			} else {
				vals = append(vals, "")
			}
		}
		g := guessColumn(vals)
		g.col, g.key = i, FieldKey(h, taken)
		taken[g.key] = true
		props[g.key] = g.schema(h)
		order = append(order, g.key)
		cols = append(cols, SheetColumn{Header: h, Key: g.key, Widget: g.widget, Type: g.typ})
		guesses = append(guesses, g)
	}
	var samples []map[string]any
	for _, row := range data {
		rec := map[string]any{}
		for _, g := range guesses {
			if g.col < len(row) {
				if v, ok := g.value(strings.TrimSpace(row[g.col])); ok {
					rec[g.key] = v
				}
			}
		}
		if len(rec) > 0 {
			samples = append(samples, rec)
		}
	}
	const form = "records"
	formDoc := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": form, "type": "object",
		"x-title": map[string]string{"zh": name.In("zh"), "en": name.In("en")}, "properties": props,
		"x-layout": []map[string]any{{"fields": order}},
	}
	bundle := map[string]any{
		"formwork": "1",
		"app":      map[string]any{"key": app, "name": map[string]string{"zh": name.In("zh"), "en": name.In("en")}, "version": "0.1.0"},
		"roles": []map[string]any{{"key": "staff", "name": map[string]string{"zh": "员工", "en": "Staff"},
			"permissions": map[string]any{form: map[string]any{"operations": []string{"create", "read", "update"}, "scope": "own", "fields": map[string]string{"*": "edit"}}}}},
		"forms": []any{formDoc},
	}
	if len(samples) > 0 {
		bundle["sample_data"] = map[string]any{form: samples}
	}
	b, err := json.MarshalIndent(bundle, "", "  ")
	if err != nil {
		return nil, err
	}
	return &SheetApp{Bundle: b, Columns: cols, Rows: len(samples)}, nil
}

func sheetError(zh, en string) error {
	return engine.Invalid(engine.FieldError{Field: "/file", Code: "sheet", Message: engine.T(zh, en)})
}

// readSheet returns the rows of an .xlsx workbook's first sheet or of a CSV.
func readSheet(filename string, r io.Reader) ([][]string, error) {
	lower := strings.ToLower(filename)
	switch {
	case strings.HasSuffix(lower, ".xlsx"):
		f, err := excelize.OpenReader(r)
		if err != nil {
			return nil, sheetError("无法读取这个 Excel 文件", "this Excel file cannot be read")
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, sheetError("工作簿里没有工作表", "the workbook has no sheet")
		}
		rows, err := f.GetRows(sheets[0])
		if err != nil {
			return nil, sheetError("无法读取第一个工作表", "the first sheet cannot be read")
		}
		return rows, nil
	case strings.HasSuffix(lower, ".csv"):
		b, err := io.ReadAll(io.LimitReader(r, 32<<20))
		if err != nil {
			return nil, err
		}
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(b) {
			return nil, sheetError("CSV 文件须为 UTF-8 编码", "the CSV file must be UTF-8")
		}
		cr := csv.NewReader(bytes.NewReader(b))
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		if err != nil {
			return nil, sheetError("CSV 文件格式不对", "the CSV file is not well formed")
		}
		return rows, nil
	}
	return nil, sheetError("请上传 .xlsx 或 .csv 文件", "upload an .xlsx or .csv file")
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// FieldKey makes a field key from a label: the pinyin of Chinese
// characters and the letters and digits of other words, lowercased and
// joined by "_", starting with a letter, at most 40 characters; a key
// already in taken gets _2, _3, …; a label with nothing usable gives
// field_N.
func FieldKey(label string, taken map[string]bool) string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	args := pinyin.NewArgs()
	for _, r := range label {
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			if py := pinyin.SinglePinyin(r, args); len(py) > 0 && py[0] != "" {
				words = append(words, py[0])
			}
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	key := strings.Join(words, "_")
	if len(key) > 40 {
		key = strings.TrimRight(key[:40], "_")
	}
	if key == "" || !('a' <= key[0] && key[0] <= 'z') {
		if key == "" {
			key = "field"
		} else {
			key = "f_" + key
		}
	}
	if !taken[key] && key != "field" {
		return key
	}
	for n := 2; ; n++ {
		k := key + "_" + strconv.Itoa(n)
		if !taken[k] {
			return k
		}
	}
}

var (
	reInt    = regexp.MustCompile(`^-?\d{1,15}$`)
	reNumber = regexp.MustCompile(`^-?\d{1,15}(\.\d+)?$`)
	reMobile = regexp.MustCompile(`^1[3-9]\d{9}$`)
	reEmail  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	yes      = map[string]bool{"是": true, "yes": true, "true": true, "y": true, "√": true, "有": true}
	no       = map[string]bool{"否": true, "no": true, "false": true, "n": true, "×": true, "无": true}
)

// dateLayouts are the ways a date is written in a sheet's cells.
var dateLayouts = []string{"2006-01-02", "2006/1/2", "2006-1-2", "2006.1.2", "2006年1月2日", "01-02-06", "1/2/06", "1/2/2006"}

func parseDate(s string) (string, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// columnGuess is what one column's values say about its field.
type columnGuess struct {
	col     int
	key     string
	widget  string
	typ     string
	options []string
}

// guessColumn picks the narrowest kind every non-empty value fits.
func guessColumn(vals []string) columnGuess {
	filled := nonEmpty(vals)
	all := func(ok func(string) bool) bool {
		for _, v := range filled {
			if !ok(v) {
				return false
			}
		}
		return len(filled) > 0
	}
	switch {
	case all(reInt.MatchString) && !all(reMobile.MatchString):
		return columnGuess{widget: engine.WidgetNumber, typ: "integer"}
	case all(reNumber.MatchString) && !all(reMobile.MatchString):
		return columnGuess{widget: engine.WidgetNumber, typ: "number"}
	case all(func(s string) bool { _, ok := parseDate(s); return ok }):
		return columnGuess{widget: engine.WidgetDate, typ: "string"}
	case all(func(s string) bool { l := strings.ToLower(s); return yes[l] || no[l] }):
		return columnGuess{widget: engine.WidgetCheckbox, typ: "boolean"}
	case all(reMobile.MatchString):
		return columnGuess{widget: engine.WidgetPhone, typ: "string"}
	case all(reEmail.MatchString):
		return columnGuess{widget: engine.WidgetEmail, typ: "string"}
	}
	distinct := map[string]bool{}
	var opts []string
	long := false
	for _, v := range filled {
		if !distinct[v] {
			distinct[v] = true
			opts = append(opts, v)
		}
		long = long || utf8.RuneCountInString(v) > 100
	}
	if len(opts) >= 2 && len(opts) <= optionLimit && len(filled) >= 2*len(opts) {
		return columnGuess{widget: engine.WidgetSelect, typ: "string", options: opts}
	}
	if long {
		return columnGuess{widget: engine.WidgetTextarea, typ: "string"}
	}
	return columnGuess{widget: engine.WidgetText, typ: "string"}
}

// schema is the field's JSON Schema with the designer's keys.
func (g columnGuess) schema(label string) map[string]any {
	s := map[string]any{"type": g.typ, "x-widget": g.widget, "x-label": map[string]string{"zh": label, "en": label}}
	switch g.widget {
	case engine.WidgetText:
		s["maxLength"] = 200
	case engine.WidgetTextarea:
		s["maxLength"] = 5000
	case engine.WidgetDate:
		s["format"] = "date"
	case engine.WidgetPhone:
		s["pattern"] = "^1[3-9][0-9]{9}$"
		s["x-sensitive"] = "phone"
	case engine.WidgetEmail:
		s["format"] = "email"
		s["maxLength"] = 200
	case engine.WidgetSelect:
		s["enum"] = g.options
	}
	return s
}

// value converts a cell to the field's stored value; ok is false for an
// empty cell or one that does not fit.
func (g columnGuess) value(s string) (any, bool) {
	if s == "" {
		return nil, false
	}
	switch g.typ {
	case "integer":
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	case "number":
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case "boolean":
		l := strings.ToLower(s)
		return yes[l], yes[l] || no[l]
	}
	if g.widget == engine.WidgetDate {
		return parseDate(s)
	}
	return s, true
}

// StartFromSheet starts a new app's draft from a spreadsheet (see
// BundleFromSheet): the draft is saved as a new app's first draft would
// be, so the same permission, size and conflict checks apply; ECONFLICT
// when app exists already, published or as a draft.
func (d *Designer) StartFromSheet(ctx context.Context, p *engine.Principal, app string, name engine.Text, filename string, r io.Reader) (*Draft, *SheetApp, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.sheet"); err != nil {
		return nil, nil, err
	}
	if _, err := d.newApp(ctx, p, app); err != nil {
		return nil, nil, err
	}
	sa, err := BundleFromSheet(app, name, filename, r)
	if err != nil {
		return nil, nil, err
	}
	dr, err := d.Save(ctx, p, app, sa.Bundle, 0)
	if err != nil {
		return nil, nil, err
	}
	return dr, sa, nil
}

// SuggestKey proposes the key of a new field of form from its label (see
// FieldKey), not taken by another field of that form in app's draft. A
// form the draft does not have yet takes any key.
func (d *Designer) SuggestKey(ctx context.Context, p *engine.Principal, app, form, label string) (string, error) {
	dr, err := d.Draft(ctx, p, app)
	if err != nil {
		return "", err
	}
	var doc struct {
		Forms []struct {
			Key        string                     `json:"x-key"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"forms"`
	}
	taken := map[string]bool{}
	if json.Unmarshal(dr.Bundle, &doc) == nil {
		for _, f := range doc.Forms {
			if f.Key == form {
				for k := range f.Properties {
					taken[k] = true
				}
			}
		}
	}
	return FieldKey(label, taken), nil
}
