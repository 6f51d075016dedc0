package server

import (
	"encoding/json"
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

func formBase(app, form string) string {
	return "/apps/" + url.PathEscape(app) + "/forms/" + url.PathEscape(form)
}

func (s *server) homePage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	apps, err := s.svc.ListApps(ctx, p)
	if err != nil {
		return err
	}
	lang := pageLang(c)
	v := web.HomePage{Page: s.page(c, web.Msg(lang, "home.title"))}
	for _, a := range apps {
		item := web.AppItem{Key: a.Key, Name: a.Name.In(lang)}
		for _, f := range a.Forms {
			fi := web.FormItem{Key: f.Key, Title: f.Title.In(lang)}
			if f.CanCreate {
				fi.NewURL = formBase(a.Key, f.Key) + "/new"
			}
			if f.CanRead {
				fi.ListURL = formBase(a.Key, f.Key)
			}
			item.Forms = append(item.Forms, fi)
		}
		v.Apps = append(v.Apps, item)
	}
	if err := s.svc.Audit(ctx, p, "page.view", "", "", "/", engine.ResultOK, ""); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.HomeView(v))
}

// formPage builds the form page from the form view, the data to show and
// the rules' verdict on it.
func (s *server) formPage(c echo.Context, fv *engine.FormView, data map[string]any, res *engine.EvalResult, errs []engine.FieldError) web.FormPage {
	lang := pageLang(c)
	base := formBase(fv.App, fv.Key)
	in := web.FormInput{Lang: lang, Fields: fv.Fields, Layout: fv.Layout, Data: data, Errors: errs}
	if res != nil {
		in.States = res.Fields
		shown := map[string]any{}
		for k, v := range data {
			shown[k] = v
		}
		for k, st := range res.Fields {
			if st.Computed {
				shown[k] = res.Data[k]
			}
		}
		in.Data = shown
	}
	secs, other := web.BuildForm(in)
	return web.FormPage{Page: s.page(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), Action: base + "/new",
		PreviewURL: base + "/preview", ListURL: base, Sections: secs, Errors: other}
}

func defaults(fv *engine.FormView) map[string]any {
	data := map[string]any{}
	for _, f := range fv.Fields {
		if f.Field.HasDefault && f.Perm == engine.PermEdit {
			data[f.Field.Key] = engine.CloneValue(f.Field.Default)
		}
	}
	return data
}

func (s *server) newRecordPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	if !slices.Contains(fv.Operations, engine.OpnCreate) {
		return engine.Errorf(engine.EFORBIDDEN, engine.T("你不能在此表单新建记录", "you may not create records on this form"))
	}
	data := defaults(fv)
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, "", data)
	if err != nil {
		return err
	}
	if err := s.svc.Audit(ctx, p, "page.view", fv.App, fv.Key, "new", engine.ResultOK, ""); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.FormView(s.formPage(c, fv, data, res, nil)))
}

// postedData reads the posted form into record data.
func postedData(c echo.Context, lang string, fv *engine.FormView) (map[string]any, []engine.FieldError, error) {
	vals, err := c.FormParams()
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return nil, nil, errTooLarge(0)
		}
		return nil, nil, badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	data, errs := web.ParseForm(lang, fv.Fields, vals)
	return data, errs, nil
}

func (s *server) submitRecordPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	data, perrs, err := postedData(c, lang, fv)
	if err != nil {
		return err
	}
	var cerr error
	if len(perrs) == 0 {
		r, err := s.svc.CreateRecord(ctx, p, fv.App, fv.Key, data)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, formBase(fv.App, fv.Key)+"/records/"+url.PathEscape(r.ID)+"?saved=1")
		}
		code := engine.ErrorCode(err)
		if code != engine.EINVALID && !(code == engine.EFORBIDDEN && len(engine.ErrorFields(err)) > 0) {
			return err
		}
		cerr = err
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, "", data)
	if err != nil {
		return err
	}
	errs := append(perrs, engine.ErrorFields(cerr)...)
	if len(errs) == 0 && cerr != nil {
		errs = []engine.FieldError{{Message: engine.T(engine.ErrorMessage(cerr, "zh"), engine.ErrorMessage(cerr, "en"))}}
	}
	status := http.StatusUnprocessableEntity
	if cerr != nil {
		status = statusOf(engine.ErrorCode(cerr))
	}
	return Render(c, status, web.FormView(s.formPage(c, fv, data, res, errs)))
}

// previewPage answers the form page's live-rule requests: the posted form,
// parsed as a submit would be, evaluated by the engine.
func (s *server) previewPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	data, perrs, err := postedData(c, lang, fv)
	if err != nil {
		return err
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, c.QueryParam("id"), data)
	if err != nil {
		return err
	}
	for _, f := range fv.Fields {
		st, ok := res.Fields[f.Field.Key]
		if ok && (f.Perm != engine.PermEdit || f.Field.Widget == engine.WidgetFormula || f.Field.Widget == engine.WidgetSerial) {
			st.Readonly = true
			res.Fields[f.Field.Key] = st
		}
	}
	return c.JSON(http.StatusOK, previewResult(res, lang, perrs))
}

// listColumns picks the fields a list shows: the first six that fit in a
// table cell.
func listColumns(fv *engine.FormView) []*engine.FieldView {
	var out []*engine.FieldView
	for _, f := range fv.Fields {
		switch f.Field.Widget {
		case engine.WidgetSubform, engine.WidgetTextarea, engine.WidgetAttachment, engine.WidgetImage:
			continue
		}
		if f.Field.Type == "object" {
			continue
		}
		out = append(out, f)
		if len(out) == 6 {
			break
		}
	}
	return out
}

func (s *server) listPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	base := formBase(fv.App, fv.Key)
	qs := c.QueryParams()
	v := web.ListPage{Page: s.page(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), ListURL: base, Search: qs.Get("q"), Sort: qs.Get("sort")}
	if slices.Contains(fv.Operations, engine.OpnCreate) {
		v.NewURL = base + "/new"
	}
	// Filters from fields with options (and yes/no fields).
	var conds []map[string]any
	for _, f := range fv.Fields {
		fd := f.Field
		opts := fd.Options
		if fd.Type == "boolean" {
			opts = []engine.Option{{Value: true, Label: engine.T("是", "Yes")}, {Value: false, Label: engine.T("否", "No")}}
		}
		if len(opts) == 0 || fd.IsSubform() {
			continue
		}
		sel := qs.Get("f." + fd.Key)
		flt := web.Filter{Key: fd.Key, ID: "flt-" + fd.Key, Label: fd.LabelOr().In(lang)}
		for _, o := range opts {
			val := web.FormatValue(o.Value)
			flt.Options = append(flt.Options, web.Option{Value: val, Label: o.Label.In(lang), Selected: val == sel})
			if sel != "" && val == sel {
				if fd.Type == "array" {
					conds = append(conds, map[string]any{fd.Key: map[string]any{"$in": []any{o.Value}}})
				} else {
					conds = append(conds, map[string]any{fd.Key: map[string]any{"$eq": o.Value}})
				}
			}
		}
		v.Filters = append(v.Filters, flt)
	}
	q := engine.ListQuery{Sort: qs.Get("sort"), Cursor: qs.Get("cursor"), Search: qs.Get("q"), Limit: 20}
	switch len(conds) {
	case 0:
	case 1:
		q.Filter, _ = json.Marshal(conds[0])
	default:
		q.Filter, _ = json.Marshal(map[string]any{"$and": conds})
	}
	cols := listColumns(fv)
	link := func(mod func(url.Values)) string {
		u := url.Values{}
		for k, vs := range qs {
			u[k] = slices.Clone(vs)
		}
		mod(u)
		if len(u) == 0 {
			return base
		}
		return base + "?" + u.Encode()
	}
	for _, f := range cols {
		col := web.Column{Key: f.Field.Key, Label: f.Field.LabelOr().In(lang)}
		next := f.Field.Key
		switch q.Sort {
		case f.Field.Key:
			col.Sorted, next = "asc", "-"+f.Field.Key
		case "-" + f.Field.Key:
			col.Sorted = "desc"
		}
		col.SortURL = link(func(u url.Values) { u.Set("sort", next); u.Del("cursor") })
		v.Columns = append(v.Columns, col)
	}
	upd := web.Column{Key: "_updated_at", Label: web.Msg(lang, "list.updated")}
	nextUpd := "-_updated_at"
	switch q.Sort {
	case "-_updated_at":
		upd.Sorted, nextUpd = "desc", "_updated_at"
	case "_updated_at":
		upd.Sorted = "asc"
	}
	upd.SortURL = link(func(u url.Values) { u.Set("sort", nextUpd); u.Del("cursor") })
	v.Columns = append(v.Columns, upd)

	list, err := s.svc.ListRecords(ctx, p, fv.App, fv.Key, q)
	if err != nil {
		code := engine.ErrorCode(err)
		if code != engine.EINVALID && code != engine.EBADREQUEST {
			return err
		}
		v.Error = engine.ErrorMessage(err, lang)
		return Render(c, statusOf(code), web.ListView(v))
	}
	for _, r := range list.Items {
		row := web.Row{URL: base + "/records/" + url.PathEscape(r.ID)}
		for _, f := range cols {
			row.Cells = append(row.Cells, web.DisplayValue(lang, f.Field, r.Data[f.Field.Key]))
		}
		row.Cells = append(row.Cells, fmtTime(r.UpdatedAt))
		v.Rows = append(v.Rows, row)
	}
	if list.NextCursor != "" {
		v.NextURL = link(func(u url.Values) { u.Set("cursor", list.NextCursor) })
	}
	if q.Cursor != "" {
		v.FirstURL = link(func(u url.Values) { u.Del("cursor") })
	}
	return Render(c, http.StatusOK, web.ListView(v))
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// actorNames resolves user ids to names for display, once per id.
func (s *server) actorNames(c echo.Context) func(id string) string {
	cache := map[string]string{}
	return func(id string) string {
		if n, ok := cache[id]; ok {
			return n
		}
		n := id
		if u, err := s.org.FindUserByID(c.Request().Context(), id); err == nil {
			n = u.Name
		}
		cache[id] = n
		return n
	}
}

func (s *server) recordPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	fv, err := s.svc.FormView(ctx, p, app, form)
	if err != nil {
		return err
	}
	r, err := s.svc.GetRecord(ctx, p, app, form, id)
	if err != nil {
		return err
	}
	revs, err := s.svc.Revisions(ctx, p, app, form, id)
	if err != nil {
		return err
	}
	name := s.actorNames(c)
	base := formBase(app, form)
	v := web.RecordPage{Page: s.page(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), ListURL: base}
	switch {
	case c.QueryParam("saved") != "":
		v.Flash = web.Msg(lang, "form.saved")
	case c.QueryParam("restored") != "":
		v.Flash = web.Msg(lang, "op.restore")
	}
	for _, f := range fv.Fields {
		val, ok := r.Data[f.Field.Key]
		if !ok {
			continue
		}
		v.Values = append(v.Values, web.Value{Label: f.Field.LabelOr().In(lang), Value: web.DisplayValue(lang, f.Field, val)})
	}
	v.Meta = []web.Value{
		{Label: web.Msg(lang, "record.version"), Value: strconv.FormatInt(r.Version, 10)},
		{Label: web.Msg(lang, "record.status"), Value: r.Status},
		{Label: web.Msg(lang, "record.owner"), Value: name(r.Owner)},
		{Label: web.Msg(lang, "record.unit"), Value: r.Unit},
		{Label: web.Msg(lang, "record.created"), Value: fmtTime(r.CreatedAt)},
		{Label: web.Msg(lang, "record.updated"), Value: fmtTime(r.UpdatedAt)},
	}
	canRestore := slices.Contains(fv.Operations, engine.OpnUpdate)
	for i := len(revs) - 1; i >= 0; i-- {
		rv := revs[i]
		item := web.Revision{Version: rv.Version, Op: web.Msg(lang, "op."+rv.Op), Actor: name(rv.Actor), At: fmtTime(rv.At)}
		for _, ch := range rv.Changes {
			fd := fv.Form.Field(ch.Field)
			label := ch.Field
			if fd != nil {
				label = fd.LabelOr().In(lang)
			}
			item.Changes = append(item.Changes, web.Change{Label: label, Before: web.DisplayValue(lang, fd, ch.Before), After: web.DisplayValue(lang, fd, ch.After)})
		}
		if canRestore && rv.Version != r.Version {
			item.RestoreURL = base + "/records/" + url.PathEscape(r.ID) + "/restore"
		}
		v.Revisions = append(v.Revisions, item)
	}
	v.Flow = s.recordFlowPanel(c, app, form, id)
	return Render(c, http.StatusOK, web.RecordView(v))
}

func (s *server) restorePage(c echo.Context) error {
	n, err := strconv.ParseInt(c.FormValue("revision"), 10, 64)
	if err != nil || n < 1 {
		return badRequest(engine.T("版本号无效", "the revision is not valid"))
	}
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	if _, err := s.svc.RestoreRecord(c.Request().Context(), principal(c), app, form, id, n); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/records/"+url.PathEscape(id)+"?restored=1")
}
