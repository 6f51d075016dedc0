package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine"
	"formwork/web"
)

// previewSamples is how many sample records the preview lists.
const previewSamples = 10

// previewColumns is how many fields the previewed list shows as columns.
const previewColumns = 6

// previewAsk is what the preview page was asked: a form, and a person (a
// role in a unit, or a real user).
type previewAsk struct {
	form    string
	subject engine.PreviewSubject
	rec     int // the sample record to open, 1-based; 0 = the first
}

func readPreviewAsk(c echo.Context) previewAsk {
	q := c.QueryParams()
	a := previewAsk{form: q.Get("form"), subject: engine.PreviewSubject{User: strings.TrimSpace(q.Get("user"))}}
	if a.subject.User == "" {
		a.subject.Role, a.subject.Unit = q.Get("role"), q.Get("unit")
	}
	a.rec, _ = strconv.Atoi(q.Get("rec"))
	return a
}

func (a previewAsk) ready() bool {
	return a.form != "" && (a.subject.User != "" || (a.subject.Role != "" && a.subject.Unit != ""))
}

// query is the page's address query for a: the same preview, rec opened.
func (a previewAsk) query(rec int) string {
	q := url.Values{"form": {a.form}}
	if a.subject.User != "" {
		q.Set("user", a.subject.User)
	} else {
		q.Set("role", a.subject.Role)
		q.Set("unit", a.subject.Unit)
	}
	if rec > 0 {
		q.Set("rec", strconv.Itoa(rec))
	}
	return q.Encode()
}

// designerPreviewPage shows the draft as one person would see it. GET
// shows the form (with its defaults), the sample records and one of them;
// POST shows the values typed into the previewed form as the record.
// Everything shown comes from the designer's preview, which refuses a
// user who may not design the app.
func (s *server) designerPreviewPage(c echo.Context) error {
	ctx, p, lang, app := c.Request().Context(), principal(c), pageLang(c), c.Param("app")
	d, db, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	ask := readPreviewAsk(c)
	name := db.App.Name.In(lang)
	base := designerAppURL(app) + "/preview"
	v := web.DesignerPreviewPage{Page: s.designerPage(c, web.Msg(lang, "dz.v.title")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Action: base, Form: ask.form, Role: ask.subject.Role, Unit: ask.subject.Unit, User: ask.subject.User}
	v.Styles = append(v.Styles, "designer/start.css", "rows.css")
	v.Scripts = append(v.Scripts, "rows.js")
	if err := s.previewChoices(c, d, &v); err != nil {
		return err
	}
	if !ask.ready() {
		return Render(c, http.StatusOK, web.DesignerPreviewView(v))
	}
	typed := c.Request().Method == http.MethodPost
	var data map[string]any
	var perrs []engine.FieldError
	set, err := s.designer.PreviewWithSamples(ctx, p, app, ask.form, ask.subject, nil, 0)
	if err == nil && typed {
		// the typed values, read as the form page reads a submit
		fields := previewFields(set)
		vals, perr := c.FormParams()
		if perr != nil {
			return badRequest(engine.T("表单无法解析", "the form could not be read"))
		}
		data, perrs = web.ParseForm(lang, fields, vals)
		set, err = s.designer.PreviewWithSamples(ctx, p, app, ask.form, ask.subject, data, previewSamples)
	} else if err == nil {
		data = previewDefaults(set)
		set, err = s.designer.PreviewWithSamples(ctx, p, app, ask.form, ask.subject, data, previewSamples)
	}
	if err != nil {
		if engine.ErrorCode(err) == engine.EINVALID {
			v.Error = errText(err, lang)
			return Render(c, http.StatusUnprocessableEntity, web.DesignerPreviewView(v))
		}
		return err
	}
	s.fillPreview(c, &v, set, ask, data, perrs, typed)
	return Render(c, http.StatusOK, web.DesignerPreviewView(v))
}

// previewChoices fills the page's choices: the draft's forms and roles
// and the organisation's units.
func (s *server) previewChoices(c echo.Context, d *designer.Draft, v *web.DesignerPreviewPage) error {
	lang := pageLang(c)
	var b struct {
		Roles []struct {
			Key  string      `json:"key"`
			Name engine.Text `json:"name"`
		} `json:"roles"`
	}
	_ = json.Unmarshal(d.Bundle, &b) // a draft may be incomplete: no roles then
	for _, f := range readDraft(d).Forms {
		title := f.Title.In(lang)
		if title == "" {
			title = f.Key
		}
		v.Forms = append(v.Forms, web.Option{Value: f.Key, Label: title})
	}
	for _, r := range b.Roles {
		label := r.Name.In(lang)
		if label == "" {
			label = r.Key
		}
		v.Roles = append(v.Roles, web.Option{Value: r.Key, Label: label})
	}
	units, err := s.org.ListUnits(c.Request().Context())
	if err != nil {
		return err
	}
	for _, u := range units {
		v.Units = append(v.Units, web.Option{Value: u.Key, Label: strings.Repeat("\u3000", len(u.Path)) + u.Name.In(lang)})
	}
	if v.Form == "" && len(v.Forms) > 0 {
		v.Form = v.Forms[0].Value
	}
	return nil
}

// previewFields are the fields the previewed person sees, with their
// permission, as the form renderer takes them.
func previewFields(set *designer.PreviewSet) []*engine.FieldView {
	f := set.Bundle.Form(set.Form.Form)
	var out []*engine.FieldView
	for _, pf := range set.Form.Fields {
		if fd := f.Field(pf.Key); fd != nil {
			out = append(out, &engine.FieldView{Field: fd, Perm: pf.Perm})
		}
	}
	if slices.Contains(set.Form.Operations, engine.OpCreate) {
		return engine.CreateFields(out) // the previewed form is a new record's
	}
	return out
}

// previewDefaults are the defaults of the fields the person may edit, as
// a new record's form starts with them.
func previewDefaults(set *designer.PreviewSet) map[string]any {
	data := map[string]any{}
	for _, fv := range previewFields(set) {
		if fv.Field.HasDefault && fv.Perm == engine.PermEdit {
			data[fv.Field.Key] = engine.CloneValue(fv.Field.Default)
		}
	}
	return data
}

// fillPreview draws the preview: the form with the rules' verdict, the
// sample records as the list shows them, and one record as read.
func (s *server) fillPreview(c echo.Context, v *web.DesignerPreviewPage, set *designer.PreviewSet, ask previewAsk, data map[string]any,
	perrs []engine.FieldError, typed bool) {
	lang, app := pageLang(c), c.Param("app")
	pv := set.Form
	f := set.Bundle.Form(pv.Form)
	fields := previewFields(set)
	base := designerAppURL(app) + "/preview"
	v.Ready, v.As, v.FormTitle, v.Operations = true, pv.As.In(lang), pv.Title.In(lang), pv.Operations
	v.Hidden = len(fields) < len(f.Fields)
	v.RulesURL = base + "/rules?" + ask.query(0)
	v.PostURL = base + "?" + ask.query(0)
	states := map[string]engine.FieldState{}
	for _, pf := range pv.Fields {
		states[pf.Key] = pf.FieldState
	}
	in := web.FormInput{Lang: lang, Fields: fields, Layout: f.Layout, Data: pv.Data, States: states, Rows: pv.Rows}
	if typed {
		in.Errors = append(perrs, pv.Errors...)
	}
	v.Sections, v.Errors = web.BuildForm(in)
	cols := fields
	if len(cols) > previewColumns {
		cols = cols[:previewColumns]
	}
	for _, fv := range cols {
		v.Columns = append(v.Columns, web.Column{Label: fv.Field.LabelOr().In(lang)})
	}
	for i, sp := range set.Samples {
		row := web.Row{URL: base + "?" + ask.query(i+1) + "#dz-pv-record"}
		for _, fv := range cols {
			row.Cells = append(row.Cells, web.DisplayValue(lang, fv.Field, sp.Data[fv.Field.Key]))
		}
		v.Rows = append(v.Rows, row)
	}
	v.NoSamples = len(set.Samples) == 0
	shown := (*engine.FormPreview)(nil)
	switch {
	case typed:
		shown, v.Typed = pv, true
	case len(set.Samples) > 0:
		n := ask.rec
		if n < 1 || n > len(set.Samples) {
			n = 1
		}
		shown, v.RecordN = set.Samples[n-1], n
	}
	if shown != nil {
		for _, pf := range shown.Fields {
			if !pf.Visible {
				continue
			}
			fd := f.Field(pf.Key)
			v.Record = append(v.Record, web.Value{Label: fd.LabelOr().In(lang), Value: web.DisplayValue(lang, fd, shown.Data[pf.Key])})
		}
	}
}

// designerPreviewRules answers the previewed form's live-rule requests:
// the posted form, read as a submit would be, evaluated for the person
// the page previews as (the form page's script asks it).
func (s *server) designerPreviewRules(c echo.Context) error {
	ctx, p, lang, app := c.Request().Context(), principal(c), pageLang(c), c.Param("app")
	ask := readPreviewAsk(c)
	set, err := s.designer.PreviewWithSamples(ctx, p, app, ask.form, ask.subject, nil, 0)
	if err != nil {
		return err
	}
	fields := previewFields(set)
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	data, perrs := web.ParseForm(lang, fields, vals)
	pv, err := s.designer.Preview(ctx, p, app, ask.form, ask.subject, data)
	if err != nil {
		return err
	}
	res := &engine.EvalResult{Data: pv.Data, Errors: pv.Errors, Fields: map[string]engine.FieldState{}, Rows: pv.Rows}
	for _, pf := range pv.Fields {
		st := pf.FieldState
		if pf.Perm != engine.PermEdit {
			st.Readonly = true
		}
		res.Fields[pf.Key] = st
	}
	return c.JSON(http.StatusOK, previewResult(res, lang, perrs))
}
