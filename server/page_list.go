package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// listColumns picks the fields a list shows when no view names them: up
// to six that fit in a table cell and say what a record is, in form order,
// leaving out long text, files, subforms and the sensitive data a list
// does not need (ID and bank card numbers, addresses). A phone stays: it
// is how staff tell people apart, and shows masked to whoever may not
// read it.
func listColumns(fv *engine.FormView) []*engine.FieldView {
	var out []*engine.FieldView
	for _, f := range fv.Fields {
		if !listable(f.Field) {
			continue
		}
		switch f.Field.Sensitive {
		case "id_number", "bank_card", "address":
			continue
		}
		if f.Field.Widget == engine.WidgetAddress {
			continue
		}
		out = append(out, f)
		if len(out) == 6 {
			break
		}
	}
	return out
}

// listable reports whether a field fits in a table cell.
func listable(fd *engine.Field) bool {
	switch fd.Widget {
	case engine.WidgetSubform, engine.WidgetTextarea, engine.WidgetAttachment, engine.WidgetImage:
		return false
	}
	return fd.Type != "object"
}

// viewColumns is the fields of keys the user may see, in that order;
// hidden and unknown ones are left out (a view never shows more).
func viewColumns(fv *engine.FormView, keys []string) []*engine.FieldView {
	var out []*engine.FieldView
	for _, k := range keys {
		for _, f := range fv.Fields {
			if f.Field.Key == k && listable(f.Field) && f.Perm != engine.PermHidden {
				out = append(out, f)
			}
		}
	}
	return out
}

// listLinks makes the list page's links: the current query with one change.
type listLinks struct {
	base string
	qs   url.Values
}

func (l listLinks) with(mod func(url.Values)) string {
	u := url.Values{}
	for k, vs := range l.qs {
		u[k] = slices.Clone(vs)
	}
	mod(u)
	if len(u) == 0 {
		return l.base
	}
	return l.base + "?" + u.Encode()
}

// sortedBy is a column sorted by key: its state under sort and the link
// that sorts by it next (ascending first, or descending first for the
// update time).
func (l listLinks) sortedBy(col web.Column, sort string, descFirst bool) web.Column {
	asc, desc := col.Key, "-"+col.Key
	next := asc
	if descFirst {
		next = desc
	}
	switch sort {
	case asc:
		col.Sorted, next = "asc", desc
	case desc:
		col.Sorted = "desc"
		if descFirst {
			next = asc
		}
	}
	col.SortURL = l.with(func(u url.Values) { u.Set("sort", next); u.Del("cursor") })
	return col
}

func (s *server) listPage(c echo.Context) error {
	return s.renderList(c, c.QueryParams(), http.StatusOK, "")
}

// renderList draws the list of a form for the list state in qs: the view
// opened (its state fills in what qs does not set), the filters, search,
// sort and columns; msg is an error to show (status its code).
func (s *server) renderList(c echo.Context, qs url.Values, status int, msg string) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	base := formBase(fv.App, fv.Key)
	var views []*engine.SavedView
	if slices.Contains(fv.Operations, engine.OpRead) {
		if views, err = s.svc.ListViews(ctx, p, fv.App, fv.Key); err != nil {
			return err
		}
	}
	open, def := pickView(views, qs.Get("view"))
	if qs.Get("view") != "" && open == nil {
		status, msg = http.StatusNotFound, engine.ErrorMessage(engine.Errorf(engine.ENOTFOUND, engine.T("视图不存在", "view not found")), lang)
	}
	if open != nil && !listStateSet(qs) {
		qs = viewQuery(open, qs)
	}
	links := listLinks{base: base, qs: qs}
	v := web.ListPage{Page: s.page(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), ListURL: base, Search: qs.Get("q"), Sort: qs.Get("sort"), Error: msg}
	s.listActions(&v, fv, qs, base)
	v.PublicURL = s.publicLinkURL(c, fv.App, base)
	if ok := qs.Get("view_ok"); ok != "" && strings.HasPrefix(ok, "views.") {
		v.Flash = web.Msg(lang, ok)
	}
	loc := web.ParseTZ(qs.Get("_tz"))
	if loc != time.UTC {
		v.TZ = qs.Get("_tz")
	}
	flts, matches, bad := listFilters(fv, qs, lang, loc, base)
	v.Filters = flts
	if bad != "" && v.Error == "" {
		v.Error = web.Msg(lang, "flt.bad") + ": " + bad
	}
	q := engine.ListQuery{Sort: qs.Get("sort"), Cursor: qs.Get("cursor"), Search: qs.Get("q"), Limit: 20, Match: matches}
	if open != nil {
		q.Filter = open.Filter
	}
	if f := qs.Get("filter"); f != "" { // a chart's point: the engine checks it as any filter
		q.Filter = []byte(f)
		v.ChartFilter = f
	}
	s.listViewTabs(&v, views, open, qs, base, lang)
	cols := pickColumns(fv, qs, open, def)
	v.ColChoices = columnChoices(fv, cols, lang)
	for _, f := range cols {
		v.Columns = append(v.Columns, links.sortedBy(web.Column{Key: f.Field.Key, Label: f.Field.LabelOr().In(lang)}, q.Sort, false))
	}
	v.Columns = append(v.Columns, links.sortedBy(web.Column{Key: "_status", Label: web.Msg(lang, "list.status")}, q.Sort, false))
	v.Columns = append(v.Columns, links.sortedBy(web.Column{Key: "_updated_at", Label: web.Msg(lang, "list.updated")}, q.Sort, true))

	list, err := s.svc.ListRecords(ctx, p, fv.App, fv.Key, q)
	if err != nil {
		code := engine.ErrorCode(err)
		if code != engine.EINVALID && code != engine.EBADREQUEST && code != engine.EFORBIDDEN {
			return err
		}
		v.Error = errText(err, lang)
		return Render(c, statusOf(code), web.ListView(v))
	}
	if v.Rows, err = s.listRows(c, fv, cols, list.Items); err != nil {
		return err
	}
	if list.NextCursor != "" {
		v.NextURL = links.with(func(u url.Values) { u.Set("cursor", list.NextCursor) })
	}
	if q.Cursor != "" {
		v.FirstURL = links.with(func(u url.Values) { u.Del("cursor") })
	}
	return Render(c, status, web.ListView(v))
}

// listActions sets the buttons of the list that fv's operations allow.
func (s *server) listActions(v *web.ListPage, fv *engine.FormView, qs url.Values, base string) {
	if slices.Contains(fv.Operations, engine.OpCreate) {
		v.NewURL = base + "/new"
	}
	if slices.Contains(fv.Operations, engine.OpImport) {
		v.ImportURL = base + "/import"
	}
	if slices.Contains(fv.Operations, engine.OpExport) {
		v.ExportURL = listLinks{base: base + "/export", qs: qs}.with(func(u url.Values) { u.Del("cursor"); u.Del("view_ok") })
	}
	if slices.Contains(fv.Operations, engine.OpDelete) {
		v.BinURL = base + "/bin"
	}
	if qs.Get("deleted") != "" {
		v.Flash = web.Msg(v.Lang, "edit.deleted")
	}
}

// listRows renders one page of records as table rows: names instead of
// ids for members, units and related records, looked up once for the page.
func (s *server) listRows(c echo.Context, fv *engine.FormView, cols []*engine.FieldView, items []*engine.RecordView) ([]web.Row, error) {
	lang := pageLang(c)
	datas := make([]map[string]any, len(items))
	for i, r := range items {
		datas[i] = r.Data
	}
	labels, err := s.svc.PickLabelsList(c.Request().Context(), principal(c), fv.App, fv.Key, datas)
	if err != nil {
		return nil, err
	}
	base := formBase(fv.App, fv.Key)
	rows := make([]web.Row, 0, len(items))
	for i, r := range items {
		row := web.Row{URL: base + "/records/" + url.PathEscape(r.ID)}
		for _, f := range cols {
			if l, ok := labels[i][f.Field.Key]; ok {
				row.Cells = append(row.Cells, l.In(lang))
				continue
			}
			row.Cells = append(row.Cells, web.DisplayValue(lang, f.Field, r.Data[f.Field.Key]))
		}
		row.Cells = append(row.Cells, web.StatusLabel(lang, r.Status), fmtTime(r.UpdatedAt))
		rows = append(rows, row)
	}
	return rows, nil
}

// listFilters builds the list page's filters from the fields the user may
// see in full (the engine refuses filters on masked and hidden ones): a
// choice for options and yes/no fields, a range for numbers, dates and
// date-times (the latter read in loc), a text box for text, and a picker
// for members, units and related records. It returns the filters, the
// values set as conditions for the engine, and the labels of values that
// do not parse.
func listFilters(fv *engine.FormView, qs url.Values, lang string, loc *time.Location, base string) ([]web.Filter, []engine.FieldMatch, string) {
	var out []web.Filter
	var matches []engine.FieldMatch
	var bad []string
	for _, f := range fv.Fields {
		fd := f.Field
		if f.Perm != engine.PermRead && f.Perm != engine.PermEdit {
			continue
		}
		if fd.IsSubform() || fd.Type == "object" || fd.Widget == engine.WidgetAttachment || fd.Widget == engine.WidgetImage {
			continue
		}
		in := filterInput{qs: qs, name: "f." + fd.Key, flt: web.Filter{Key: fd.Key, ID: "flt-" + fd.Key, Label: fd.LabelOr().In(lang)}, m: engine.FieldMatch{Field: fd.Key}}
		opts := fd.Options
		if fd.Type == "boolean" {
			opts = []engine.Option{{Value: true, Label: engine.T("是", "Yes")}, {Value: false, Label: engine.T("否", "No")}}
		}
		switch {
		case len(opts) > 0:
			in.choice(opts, lang)
		case fd.Type == "array":
			continue
		case fd.Type == "number" || fd.Type == "integer":
			in.numberRange()
		case fd.Widget == engine.WidgetDate:
			if !in.namedRange(lang, "date") {
				in.dateRange()
			}
		case fd.Widget == engine.WidgetDatetime:
			if !in.namedRange(lang, "datetime-local") {
				in.datetimeRange(loc)
			}
		case fd.Widget == engine.WidgetMember || fd.Widget == engine.WidgetUnit || fd.Widget == engine.WidgetRelation:
			in.pick(base + "/pick/" + url.PathEscape(fd.Key))
		case fd.Type == "string":
			in.text(fd.Sensitive != "")
		default:
			continue
		}
		out = append(out, in.flt)
		if in.bad {
			bad = append(bad, in.flt.Label)
		}
		if in.m.Equals != nil || in.m.Contains != "" || in.m.From != nil || in.m.To != nil || in.m.Range != "" {
			matches = append(matches, in.m)
		}
	}
	// the creation time by range (the API also takes _updated_at; one
	// more range here would lengthen the filters on a phone for little)
	for _, sys := range []struct{ key, label string }{{"_created_at", "list.created"}} {
		in := filterInput{qs: qs, name: "f." + sys.key, flt: web.Filter{Key: sys.key, ID: "flt" + sys.key, Label: web.Msg(lang, sys.label)}, m: engine.FieldMatch{Field: sys.key}}
		if !in.namedRange(lang, "date") {
			in.dayRange()
		}
		out = append(out, in.flt)
		if in.bad {
			bad = append(bad, in.flt.Label)
		}
		if in.m.Range != "" {
			matches = append(matches, in.m)
		}
	}
	return out, matches, strings.Join(bad, ", ")
}

// namedRange offers the named date ranges (today, this week, last month …)
// and reports whether one is chosen: the engine reads it in the
// organisation's time zone. Otherwise the from and to inputs are the
// custom range.
func (in *filterInput) namedRange(lang, kind string) bool {
	sel := in.qs.Get(in.name + ".range")
	for _, r := range engine.DateRanges {
		in.flt.Ranges = append(in.flt.Ranges, web.Option{Value: r, Label: engine.DateRangeLabels[r].In(lang), Selected: r == sel})
	}
	in.flt.Ranges = append(in.flt.Ranges, web.Option{Value: "custom", Label: web.Msg(lang, "flt.range.custom"), Selected: sel == "custom"})
	if sel == "" || sel == "custom" {
		return false
	}
	in.flt.Kind = kind
	if !slices.Contains(engine.DateRanges, sel) {
		in.bad = true
		return true
	}
	in.m.Range = sel
	return true
}

// dayRange: a record time's custom range, from and to as YYYY-MM-DD days
// in the organisation's time zone.
func (in *filterInput) dayRange() {
	in.dateRange()
	from, _ := in.m.From.(string)
	to, _ := in.m.To.(string)
	in.m.From, in.m.To = nil, nil
	if from != "" || to != "" {
		in.m.Range = from + ".." + to
	}
}

// filterInput reads one field's filter from the query string into the
// filter shown (flt) and the condition for the engine (m); bad is set when
// a value does not parse.
type filterInput struct {
	qs   url.Values
	name string
	flt  web.Filter
	m    engine.FieldMatch
	bad  bool
}

// choice: a select of the field's options (or yes/no).
func (in *filterInput) choice(opts []engine.Option, lang string) {
	sel := in.qs.Get(in.name)
	for _, o := range opts {
		val := web.FormatValue(o.Value)
		in.flt.Options = append(in.flt.Options, web.Option{Value: val, Label: o.Label.In(lang), Selected: val == sel})
		if sel != "" && val == sel {
			in.m.Equals = o.Value
		}
	}
}

// numberRange: from and to, both optional.
func (in *filterInput) numberRange() {
	in.flt.Kind, in.flt.From, in.flt.To = "number", in.qs.Get(in.name+".from"), in.qs.Get(in.name+".to")
	parse := func(sv string) any {
		if strings.TrimSpace(sv) == "" {
			return nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(sv), 64)
		if err != nil {
			in.bad = true
			return nil
		}
		return n
	}
	in.m.From, in.m.To = parse(in.flt.From), parse(in.flt.To)
}

// dateRange: from and to as YYYY-MM-DD.
func (in *filterInput) dateRange() {
	in.flt.Kind, in.flt.From, in.flt.To = "date", in.qs.Get(in.name+".from"), in.qs.Get(in.name+".to")
	parse := func(sv string) any {
		if sv == "" {
			return nil
		}
		if _, err := time.Parse("2006-01-02", sv); err != nil {
			in.bad = true
			return nil
		}
		return sv
	}
	in.m.From, in.m.To = parse(in.flt.From), parse(in.flt.To)
}

// datetimeRange: from and to typed in loc, to the whole minute; shown
// back in UTC (the page's script shows them in local time).
func (in *filterInput) datetimeRange(loc *time.Location) {
	in.flt.Kind = "datetime-local"
	if sv := in.qs.Get(in.name + ".from"); sv != "" {
		if t, ok := web.ParseLocal(sv, loc); ok {
			in.m.From = t.UTC().Format(time.RFC3339)
			in.flt.From = t.UTC().Format("2006-01-02T15:04")
		} else {
			in.bad = true
		}
	}
	if sv := in.qs.Get(in.name + ".to"); sv != "" {
		if t, ok := web.ParseLocal(sv, loc); ok {
			in.m.To = t.Add(59 * time.Second).UTC().Format(time.RFC3339)
			in.flt.To = t.UTC().Format("2006-01-02T15:04")
		} else {
			in.bad = true
		}
	}
}

// pick: a member, unit or related record chosen in a picker.
func (in *filterInput) pick(pickURL string) {
	in.flt.Kind, in.flt.Value, in.flt.PickURL = "pick", in.qs.Get(in.name), pickURL
	if in.flt.Value != "" {
		in.m.Equals = in.flt.Value
	}
}

// text: a search term, at most 100 characters unless the engine matches
// it exactly (a sensitive field).
func (in *filterInput) text(exact bool) {
	in.flt.Kind, in.flt.Value = "text", in.qs.Get(in.name)
	term := strings.TrimSpace(in.flt.Value)
	switch {
	case term == "":
	case !exact && len([]rune(term)) > 100:
		in.bad = true
	default:
		in.m.Contains = term
	}
}
