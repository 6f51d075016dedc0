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

// bindRecordPages binds the home page and a form's pages: its list, a new
// record, a record, its edit, delete and restore, and the live preview.
func (s *server) bindRecordPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	const form = "/apps/:app/forms/:form"
	e.GET("/", s.homePage, page...)
	e.GET(form+"/new", s.newRecordPage, page...)
	e.POST(form+"/new", s.submitRecordPage, page...)
	e.POST(form+"/preview", s.previewPage, page...)
	e.GET(form, s.listPage, page...)
	e.GET(form+"/records/:id", s.recordPage, page...)
	e.GET(form+"/records/:id/print", s.printPage, page...)
	e.POST(form+"/records/:id/restore", s.restorePage, page...)
	e.GET(form+"/records/:id/edit", s.editRecordPage, page...)
	e.POST(form+"/records/:id/edit", s.saveRecordPage, page...)
	e.GET(form+"/records/:id/delete", s.deleteRecordAsk, page...)
	e.POST(form+"/records/:id/delete", s.deleteRecordPage, page...)
}

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
		ds, err := s.svc.Dashboards(ctx, p, a.Key)
		if err != nil {
			return err
		}
		for _, d := range ds {
			item.Dashboards = append(item.Dashboards, web.Choice{Value: dashboardURL(a.Key, d.Key), Label: d.Name.In(lang)})
		}
		v.Apps = append(v.Apps, item)
	}
	if err := s.svc.Audit(ctx, p, "page.view", "", "", "/", engine.ResultOK, ""); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.HomeView(v))
}

// formOpts says which form page to build: a new record (id "") or the
// edit page of a record at a version.
type formOpts struct {
	id      string
	version int64
}

// formPage builds the form page from the form view, the data to show and
// the rules' verdict on it.
func (s *server) formPage(c echo.Context, fv *engine.FormView, data map[string]any, res *engine.EvalResult, errs []engine.FieldError, o formOpts) web.FormPage {
	lang := pageLang(c)
	base := formBase(fv.App, fv.Key)
	in := web.FormInput{Lang: lang, Fields: engine.CreateFields(fv.Fields), Layout: fv.Layout, Data: data, Errors: errs,
		PickURL: func(key string) string { return base + "/pick/" + url.PathEscape(key) },
		FillURL: func(key string) string { return base + "/fill/" + url.PathEscape(key) }}
	if o.id != "" {
		in.Fields = fv.Fields
		in.FileURL = func(_ string, ref engine.BlobRef) string { return fileURL(fv.App, fv.Key, o.id, ref.ID) }
	}
	withVerdict(&in, data, res)
	in.Picked, in.Units = s.pickedLabels(c, fv, in.Data)
	secs, other := web.BuildForm(in)
	v := web.FormPage{Page: s.page(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), Action: base + "/new",
		PreviewURL: base + "/preview", ListURL: base, Sections: secs, Errors: other, UploadURL: base + "/uploads"}
	v.Page.Styles = append(v.Page.Styles, "rows.css")
	v.Page.Scripts = append(v.Page.Scripts, "rows.js")
	if o.id != "" {
		recURL := base + "/records/" + url.PathEscape(o.id)
		v.Action, v.PreviewURL, v.CancelURL = recURL+"/edit", base+"/preview?id="+url.QueryEscape(o.id), recURL
		v.Version = strconv.FormatInt(o.version, 10)
		v.FormTitle = web.Msg(lang, "edit.title") + " · " + v.FormTitle
	}
	for _, f := range fv.Fields {
		if f.Perm == engine.PermEdit && (f.Field.Widget == engine.WidgetAttachment || f.Field.Widget == engine.WidgetImage) {
			v.Multipart = true
		}
	}
	return v
}

// withVerdict gives a form's input the rules' verdict on data: field
// states, and computed values in place of what was posted.
func withVerdict(in *web.FormInput, data map[string]any, res *engine.EvalResult) {
	if res == nil {
		return
	}
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
	for k := range res.Rows {
		shown[k] = res.Data[k] // rows with their computed cells
	}
	in.Data, in.Rows = shown, res.Rows
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
	if !slices.Contains(fv.Operations, engine.OpCreate) {
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
	return Render(c, http.StatusOK, web.FormView(s.formPage(c, fv, data, res, nil, formOpts{})))
}

// postedData reads the posted form into record data: of a new record
// (create) or of an existing one.
func postedData(c echo.Context, lang string, fv *engine.FormView, create bool) (map[string]any, []engine.FieldError, error) {
	vals, err := c.FormParams()
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return nil, nil, errTooLarge(0)
		}
		return nil, nil, badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	fields := fv.Fields
	if create {
		fields = engine.CreateFields(fields)
	}
	data, errs := web.ParseForm(lang, fields, vals)
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
	data, perrs, err := postedData(c, lang, fv, true)
	if err != nil {
		return err
	}
	perrs = append(perrs, s.pageUploads(c, fv, data)...)
	var cerr error
	if len(perrs) == 0 {
		r, err := s.svc.CreateRecord(ctx, p, fv.App, fv.Key, data)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, formBase(fv.App, fv.Key)+"/records/"+url.PathEscape(r.ID)+"?saved=1")
		}
		if !fieldLevel(err) {
			return err
		}
		cerr = err
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, "", data)
	if err != nil {
		return err
	}
	errs := formErrors(perrs, cerr)
	status := http.StatusUnprocessableEntity
	if cerr != nil {
		status = statusOf(engine.ErrorCode(cerr))
	}
	return Render(c, status, web.FormView(s.formPage(c, fv, data, res, errs, formOpts{})))
}

// fieldLevel reports whether a create or update error belongs on the
// form page next to the fields (invalid values, fields not editable, a
// stale version) rather than on an error page.
func fieldLevel(err error) bool {
	switch engine.ErrorCode(err) {
	case engine.EINVALID, engine.ECONFLICT:
		return true
	case engine.EFORBIDDEN:
		return len(engine.ErrorFields(err)) > 0
	}
	return false
}

func formErrors(perrs []engine.FieldError, cerr error) []engine.FieldError {
	errs := append(perrs, engine.ErrorFields(cerr)...)
	if len(engine.ErrorFields(cerr)) == 0 && cerr != nil {
		errs = append(errs, engine.FieldError{Message: engine.T(engine.ErrorMessage(cerr, "zh"), engine.ErrorMessage(cerr, "en"))})
	}
	return errs
}

// editRecordPage shows a record in its form, for editing: the stored
// values (as the user may see them), live rules through the preview
// endpoint with the record's id, and the version the edit is based on.
func (s *server) editRecordPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	fv, err := s.svc.RecordFormView(ctx, p, app, form, id) // also a record shared with p (a CC)
	if err != nil {
		return err
	}
	r, err := s.svc.GetRecord(ctx, p, app, form, id)
	if err != nil {
		return err
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, r.ID, nil)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.FormView(s.formPage(c, fv, r.Data, res, nil, formOpts{id: r.ID, version: r.Version})))
}

// saveRecordPage saves an edit through the engine's update at the version
// the page was built on. Every editable field the page showed is part of
// the change (an emptied one is removed); fields the user may only read
// are not read from the post, and the engine refuses writes to them.
// A stale version shows the form again with the user's entries and a
// readable message.
func (s *server) saveRecordPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	fv, err := s.svc.FormView(ctx, p, app, form)
	if err != nil {
		return err
	}
	data, perrs, err := postedData(c, lang, fv, false)
	if err != nil {
		return err
	}
	version, err := strconv.ParseInt(c.FormValue("_version"), 10, 64)
	if err != nil || version < 1 {
		return badRequest(engine.T("缺少记录版本，请重新打开编辑页", "the record version is missing; open the edit page again"))
	}
	perrs = append(perrs, s.pageUploads(c, fv, data)...)
	var cerr error
	if len(perrs) == 0 {
		patch := map[string]any{}
		for k, v := range data {
			patch[k] = v
		}
		for _, f := range fv.Fields {
			fd := f.Field
			if f.Perm != engine.PermEdit || fd.Widget == engine.WidgetFormula || fd.Widget == engine.WidgetSerial {
				continue
			}
			if _, ok := patch[fd.Key]; !ok {
				patch[fd.Key] = nil // emptied on the page: removed
			}
		}
		_, err := s.svc.UpdateRecord(ctx, p, app, form, id, version, patch)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/records/"+url.PathEscape(id)+"?saved=1")
		}
		if !fieldLevel(err) {
			return err
		}
		cerr = err
	}
	status := http.StatusUnprocessableEntity
	var errs []engine.FieldError
	if engine.ErrorCode(cerr) == engine.ECONFLICT {
		// show what is stored now, keep the user's entries, and base a
		// second save on the current version
		status = http.StatusConflict
		cur, err := s.svc.GetRecord(ctx, p, app, form, id)
		if err != nil {
			return err
		}
		errs = []engine.FieldError{{Message: engine.T(engine.ErrorMessage(cerr, "zh"), engine.ErrorMessage(cerr, "en"))}}
		if cur.Version != version {
			errs = append(errs, engine.FieldError{Message: engine.T(web.Msg(web.LangZh, "edit.conflict"), web.Msg(web.LangEn, "edit.conflict"))})
		}
		version = cur.Version
	} else {
		errs = formErrors(perrs, cerr)
		if cerr != nil {
			status = statusOf(engine.ErrorCode(cerr))
		}
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, id, data)
	if err != nil {
		return err
	}
	return Render(c, status, web.FormView(s.formPage(c, fv, data, res, errs, formOpts{id: id, version: version})))
}

// deleteRecordAsk is the confirmation step before a delete: a page with a
// form to post, so it works without JavaScript.
func (s *server) deleteRecordAsk(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	fv, err := s.svc.RecordFormView(ctx, p, app, form, id) // also a record shared with p (a CC)
	if err != nil {
		return err
	}
	r, err := s.svc.GetRecord(ctx, p, app, form, id)
	if err != nil {
		return err
	}
	recURL := formBase(app, form) + "/records/" + url.PathEscape(id)
	v := web.DeletePage{Page: s.page(c, web.Msg(lang, "edit.delete_title")), FormTitle: fv.Title.In(lang),
		Action: recURL + "/delete", CancelURL: recURL, Version: strconv.FormatInt(r.Version, 10)}
	for _, f := range listColumns(fv) {
		if val, ok := r.Data[f.Field.Key]; ok {
			v.Summary = append(v.Summary, web.Value{Label: f.Field.LabelOr().In(lang), Value: web.DisplayValue(lang, f.Field, val)})
		}
	}
	return Render(c, http.StatusOK, web.DeleteView(v))
}

// deleteRecordPage moves the record to the recycle bin through the
// engine, at the version the confirmation page showed.
func (s *server) deleteRecordPage(c echo.Context) error {
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	version, err := strconv.ParseInt(c.FormValue("_version"), 10, 64)
	if err != nil || version < 0 {
		return badRequest(engine.T("版本号无效", "the version is not valid"))
	}
	if err := s.svc.DeleteRecord(c.Request().Context(), principal(c), app, form, id, version); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"?deleted=1")
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
	create := c.QueryParam("id") == ""
	data, perrs, err := postedData(c, lang, fv, create)
	if err != nil {
		return err
	}
	res, err := s.svc.Preview(ctx, p, fv.App, fv.Key, c.QueryParam("id"), data)
	if err != nil {
		return err
	}
	fields := fv.Fields
	if create {
		fields = engine.CreateFields(fields)
	}
	markReadonly(fields, res)
	return c.JSON(http.StatusOK, previewResult(res, lang, perrs))
}

// markReadonly marks read-only in a live-rule verdict the fields the user
// cannot type into: not editable, formulas and serial numbers.
func markReadonly(fields []*engine.FieldView, res *engine.EvalResult) {
	for _, f := range fields {
		st, ok := res.Fields[f.Field.Key]
		if ok && (f.Perm != engine.PermEdit || f.Field.Widget == engine.WidgetFormula || f.Field.Widget == engine.WidgetSerial) {
			st.Readonly = true
			res.Fields[f.Field.Key] = st
		}
	}
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
		} else if strings.HasPrefix(id, engine.PublicActor("")) {
			n = web.Msg(pageLang(c), "public.actor")
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
	fv, err := s.svc.RecordFormView(ctx, p, app, form, id) // also a record shared with p (a CC)
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
	recURL := base + "/records/" + url.PathEscape(r.ID)
	if slices.Contains(fv.Operations, engine.OpUpdate) {
		v.EditURL = recURL + "/edit"
	}
	if slices.Contains(fv.Operations, engine.OpDelete) {
		v.DeleteURL = recURL + "/delete"
	}
	if slices.Contains(fv.Operations, engine.OpPrint) {
		v.PrintURL = recURL + "/print"
	}
	if engine.CanAudit(p) {
		v.AuditURL = recordAuditURL(fv.App, fv.Key, r.ID)
	}
	picked, _ := s.pickedLabels(c, fv, r.Data)
	for _, f := range fv.Fields {
		val, ok := r.Data[f.Field.Key]
		if !ok {
			continue
		}
		item := web.Value{Label: f.Field.LabelOr().In(lang), Value: web.DisplayValue(lang, f.Field, val)}
		if l := picked[f.Field.Key]; l != "" {
			item.Value = l
		}
		if (f.Field.Widget == engine.WidgetAttachment || f.Field.Widget == engine.WidgetImage) && f.Perm != engine.PermMasked {
			item.Files = web.Files(val, func(ref engine.BlobRef) string { return fileURL(app, form, r.ID, ref.ID) })
		}
		v.Values = append(v.Values, item)
	}
	v.Meta = []web.Value{
		{Label: web.Msg(lang, "record.version"), Value: strconv.FormatInt(r.Version, 10)},
		{Label: web.Msg(lang, "record.status"), Value: web.StatusLabel(lang, r.Status)},
		{Label: web.Msg(lang, "record.owner"), Value: name(r.Owner)},
		{Label: web.Msg(lang, "record.unit"), Value: s.unitName(c, r.Unit)},
		{Label: web.Msg(lang, "record.created"), Value: fmtTime(r.CreatedAt)},
		{Label: web.Msg(lang, "record.updated"), Value: fmtTime(r.UpdatedAt)},
	}
	canRestore := slices.Contains(fv.Operations, engine.OpUpdate)
	changed := s.changeLabels(c, fv, revs)
	for i := len(revs) - 1; i >= 0; i-- {
		rv := revs[i]
		item := web.Revision{Version: rv.Version, Op: web.Msg(lang, "op."+string(rv.Op)), Actor: name(rv.Actor), At: fmtTime(rv.At), Withheld: rv.Withheld}
		for j, ch := range rv.Changes {
			fd := fv.Form.Field(ch.Field)
			label := ch.Field
			if fd != nil {
				label = fd.LabelOr().In(lang)
			}
			chg := web.Change{Label: label, Before: web.DisplayValue(lang, fd, ch.Before), After: web.DisplayValue(lang, fd, ch.After)}
			if l, ok := changed[i][j][0][ch.Field]; ok {
				chg.Before = l.In(lang)
			}
			if l, ok := changed[i][j][1][ch.Field]; ok {
				chg.After = l.In(lang)
			}
			item.Changes = append(item.Changes, chg)
		}
		if canRestore && rv.Version != r.Version {
			item.RestoreURL = base + "/records/" + url.PathEscape(r.ID) + "/restore"
		}
		v.Revisions = append(v.Revisions, item)
	}
	if v.Flow = s.recordFlowPanel(c, app, form, id); v.Flow != nil {
		v.Styles = append(v.Styles, "tasks.css") // the panel's timeline and boxes
	}
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
