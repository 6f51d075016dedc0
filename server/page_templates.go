package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/templates"
	"formwork/web"
)

// bindTemplateRoutes binds the template gallery (模板中心): its pages
// under /admin/templates and its JSON API (the templates, their previews,
// import, and the progress of a sample-data import, which the job page
// polls). Administrators only: the middleware refuses others, and every
// Service call below checks again.
func (s *server) bindTemplateRoutes(e *echo.Echo, admin, page []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/templates", s.apiTemplates, admin...)
	e.GET(v1+"/templates/:name", s.apiTemplate, admin...)
	e.POST(v1+"/templates/:name/import", s.apiImportTemplate, admin...)
	e.GET(v1+"/import-jobs/:id", s.apiImportJob, admin...)

	e.GET("/admin/templates", s.templatesPage, page...)
	e.GET("/admin/templates/:name", s.templatePage, page...)
	e.POST("/admin/templates/:name/import", s.importTemplatePage, page...)
	e.GET("/admin/templates/jobs/:id", s.importJobPage, page...)
}

// loadedTemplates keeps each embedded template loaded (they never change
// while the binary runs, and loading one takes a while).
var loadedTemplates sync.Map // name → *engine.Bundle

func templateBundle(name string) (*engine.Bundle, error) {
	if b, ok := loadedTemplates.Load(name); ok {
		return b.(*engine.Bundle), nil
	}
	data, err := templates.Get(name)
	if err != nil {
		return nil, err
	}
	b, err := engine.LoadBundle(data)
	if err != nil {
		return nil, err
	}
	loadedTemplates.Store(name, b)
	return b, nil
}

// tplSummary is a template as the gallery lists it, with the app it was
// imported as (nil if not yet).
type tplSummary struct {
	*templates.Info
	Installed *engine.AppVersion `json:"installed"`
}

func (s *server) templateSummaries(c echo.Context) ([]tplSummary, error) {
	out := []tplSummary{}
	for _, name := range templates.Names() {
		sum, err := s.templateSummary(c, name)
		if err != nil {
			return nil, err
		}
		out = append(out, *sum)
	}
	return out, nil
}

func (s *server) templateSummary(c echo.Context, name string) (*tplSummary, error) {
	info, err := templates.GetInfo(name)
	if err != nil {
		return nil, err
	}
	inst, err := s.svc.InstalledApp(c.Request().Context(), principal(c), info.Key)
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return nil, err
	}
	return &tplSummary{Info: info, Installed: inst}, nil
}

// tplDetail is the preview of a template: what each form holds, what each
// role sees and who approves what.
type tplDetail struct {
	tplSummary
	Plan      *engine.ImportPlan `json:"plan"`
	Forms     []tplFormView      `json:"forms"`
	Roles     []tplRoleView      `json:"roles"`
	Workflows []tplWorkflowView  `json:"workflows"`
}

type tplFieldView struct {
	Key       string      `json:"key"`
	Label     engine.Text `json:"label"`
	Widget    string      `json:"widget"`
	Required  bool        `json:"required"`
	Sensitive string      `json:"sensitive,omitempty"`
	Computed  bool        `json:"computed,omitempty"`
	Indexed   bool        `json:"indexed,omitempty"`
}

type tplFormView struct {
	Key    string         `json:"key"`
	Title  engine.Text    `json:"title"`
	Fields []tplFieldView `json:"fields"`
}

type tplRoleFormView struct {
	Form       string   `json:"form"`
	Operations []string `json:"operations"`
	Scope      string   `json:"scope"`
	Masked     []string `json:"masked"` // field keys
	Hidden     []string `json:"hidden"` // field keys
}

type tplRoleView struct {
	Key   string            `json:"key"`
	Name  engine.Text       `json:"name"`
	MFA   bool              `json:"mfa,omitempty"`
	Forms []tplRoleFormView `json:"forms"`
}

type tplWorkflowView struct {
	Key   string         `json:"key"`
	Name  engine.Text    `json:"name"`
	Form  string         `json:"form"`
	Nodes []*engine.Node `json:"nodes"`
}

func (s *server) templateDetail(c echo.Context, name string) (*tplDetail, *engine.Bundle, error) {
	sum, err := s.templateSummary(c, name)
	if err != nil {
		return nil, nil, err
	}
	b, err := templateBundle(name)
	if err != nil {
		return nil, nil, err
	}
	d := &tplDetail{tplSummary: *sum, Forms: []tplFormView{}, Roles: []tplRoleView{}, Workflows: []tplWorkflowView{}}
	if sum.Installed != nil {
		if d.Plan, err = s.svc.PlanImportBundle(c.Request().Context(), principal(c), b); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range b.Forms {
		fv := tplFormView{Key: f.Key, Title: f.Title, Fields: []tplFieldView{}}
		for _, fd := range f.Fields {
			fv.Fields = append(fv.Fields, tplFieldView{Key: fd.Key, Label: fd.Label, Widget: fd.Widget, Required: slices.Contains(f.Required, fd.Key),
				Sensitive: fd.Sensitive, Computed: fd.Compute != "", Indexed: fd.Index})
		}
		d.Forms = append(d.Forms, fv)
	}
	for _, r := range b.Roles {
		rv := tplRoleView{Key: r.Key, Name: r.Name, MFA: r.MFA, Forms: []tplRoleFormView{}}
		for _, f := range b.Forms {
			fp := r.Permissions[f.Key]
			if fp == nil || len(fp.Operations) == 0 {
				continue
			}
			rf := tplRoleFormView{Form: f.Key, Operations: fp.Operations, Scope: fp.Scope.Kind, Masked: []string{}, Hidden: []string{}}
			// the same defaults as access resolution: read, or edit with
			// create/update, unless "*" says otherwise
			def := engine.PermRead
			if slices.Contains(fp.Operations, engine.OpCreate) || slices.Contains(fp.Operations, engine.OpUpdate) {
				def = engine.PermEdit
			}
			if v, ok := fp.Fields["*"]; ok {
				def = v
			}
			for _, fd := range f.Fields {
				perm := def
				if v, ok := fp.Fields[fd.Key]; ok {
					perm = v
				}
				switch perm {
				case engine.PermMasked:
					rf.Masked = append(rf.Masked, fd.Key)
				case engine.PermHidden:
					rf.Hidden = append(rf.Hidden, fd.Key)
				}
			}
			rv.Forms = append(rv.Forms, rf)
		}
		d.Roles = append(d.Roles, rv)
	}
	for _, w := range b.Workflows {
		d.Workflows = append(d.Workflows, tplWorkflowView{Key: w.Key, Name: w.Name, Form: w.Form, Nodes: w.Nodes})
	}
	return d, b, nil
}

// apiTemplates lists the built-in templates and whether each is imported.
func (s *server) apiTemplates(c echo.Context) error {
	items, err := s.templateSummaries(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// apiTemplate previews one template; when it is imported, "plan" is the
// upgrade a re-import would make (with the data it would orphan).
func (s *server) apiTemplate(c echo.Context) error {
	d, _, err := s.templateDetail(c, c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// apiImportJob is the progress of a sample-data import.
func (s *server) apiImportJob(c echo.Context) error {
	j, err := s.svc.ImportJob(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, j)
}

func langText(lang string, t engine.Text) string { return t.In(lang) }

func (s *server) tplCard(lang string, sum *tplSummary) web.TplCard {
	card := web.TplCard{Name: sum.Name, Title: langText(lang, sum.Title), Version: sum.Version, Forms: len(sum.Forms), Roles: len(sum.Roles),
		Workflows: len(sum.Workflows), SampleRecords: sum.SampleRecords,
		PreviewURL: "/admin/templates/" + url.PathEscape(sum.Name), ImportURL: "/admin/templates/" + url.PathEscape(sum.Name) + "/import"}
	if sum.Description != nil {
		card.Description = sum.Description.In(lang)
	}
	if sum.Installed != nil {
		card.Installed = &web.TplInstalled{Version: sum.Installed.Version, AppVersion: sum.Installed.AppVersion,
			Current: sum.Installed.AppVersion == sum.Version, AppURL: "/"}
	}
	return card
}

func (s *server) tplPage(c echo.Context, title string) web.Page {
	pg := s.page(c, title)
	pg.Scripts = append(pg.Scripts, "tpl.js")
	pg.Styles = append(pg.Styles, "tpl.css")
	return pg
}

// templatesPage is the gallery: a card per template.
func (s *server) templatesPage(c echo.Context) error {
	lang := pageLang(c)
	sums, err := s.templateSummaries(c)
	if err != nil {
		return err
	}
	v := web.TplGalleryPage{Page: s.tplPage(c, web.Msg(lang, "tpl.title"))}
	for i := range sums {
		v.Cards = append(v.Cards, s.tplCard(lang, &sums[i]))
	}
	if err := s.svc.Audit(c.Request().Context(), principal(c), "page.view", "", "", "/admin/templates", engine.ResultOK, ""); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.TplGalleryView(v))
}

// previewView turns a template's detail into its page in lang.
func (s *server) previewView(c echo.Context, d *tplDetail, b *engine.Bundle) web.TplPreviewPage {
	lang := pageLang(c)
	card := s.tplCard(lang, &d.tplSummary)
	v := web.TplPreviewPage{Page: s.tplPage(c, card.Title+" · "+web.Msg(lang, "tpl.title")), Card: card}
	label := map[string]map[string]string{}
	for _, f := range d.Forms {
		tf := web.TplForm{Key: f.Key, Title: f.Title.In(lang)}
		label[f.Key] = map[string]string{}
		for _, fd := range f.Fields {
			label[f.Key][fd.Key] = fd.Label.In(lang)
			tf.Fields = append(tf.Fields, web.TplField{Key: fd.Key, Label: fd.Label.In(lang), Widget: fd.Widget, Required: fd.Required,
				Sensitive: fd.Sensitive, Computed: fd.Computed, Indexed: fd.Indexed})
		}
		v.Forms = append(v.Forms, tf)
	}
	formTitle := func(key string) string {
		if f := b.Form(key); f != nil {
			return f.Title.In(lang)
		}
		return key
	}
	labels := func(form string, keys []string) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = label[form][k]
		}
		return out
	}
	for _, r := range d.Roles {
		tr := web.TplRole{Key: r.Key, Name: r.Name.In(lang), MFA: r.MFA}
		for _, rf := range r.Forms {
			tr.Forms = append(tr.Forms, web.TplRoleForm{Form: formTitle(rf.Form), Operations: strings.Join(rf.Operations, ", "),
				Scope: web.Msg(lang, "tpl.scope."+rf.Scope), Masked: labels(rf.Form, rf.Masked), Hidden: labels(rf.Form, rf.Hidden)})
		}
		v.Roles = append(v.Roles, tr)
	}
	roleName := func(key string) string {
		if r := b.Role(key); r != nil {
			return r.Name.In(lang)
		}
		return key
	}
	var nodes func(ns []*engine.Node) []web.TplNode
	who := func(a *engine.Assignees) string {
		if a == nil {
			return ""
		}
		var parts []string
		for _, r := range a.Roles {
			parts = append(parts, roleName(r))
		}
		parts = append(parts, a.Users...)
		if a.UnitHead != "" {
			parts = append(parts, "unit_head:"+a.UnitHead)
		}
		if a.Field != "" {
			parts = append(parts, "field:"+a.Field)
		}
		return strings.Join(parts, " / ")
	}
	nodes = func(ns []*engine.Node) []web.TplNode {
		var out []web.TplNode
		for _, n := range ns {
			tn := web.TplNode{Key: n.Key, Type: n.Type, Assignees: who(n.Assignees)}
			if n.To != nil {
				tn.Assignees = who(n.To)
			}
			if n.Name != nil {
				tn.Name = n.Name.In(lang)
			}
			for _, br := range n.Branches {
				tb := web.TplBranch{When: br.When, Nodes: nodes(br.Nodes)}
				if br.Name != nil {
					tb.Name = br.Name.In(lang)
				}
				if br.Else {
					tb.Name = web.Msg(lang, "tpl.branch_else")
				}
				tn.Branches = append(tn.Branches, tb)
			}
			out = append(out, tn)
		}
		return out
	}
	for _, w := range d.Workflows {
		v.Workflows = append(v.Workflows, web.TplWorkflow{Key: w.Key, Name: w.Name.In(lang), Form: formTitle(w.Form), Nodes: nodes(w.Nodes)})
	}
	if pl := d.Plan; pl != nil && pl.Current != nil {
		tp := &web.TplPlan{From: pl.Current.Version, To: pl.Next, AddedForms: pl.AddedForms, RemovedForms: pl.RemovedForms,
			AddedFields: pl.AddedFields, RemovedFields: pl.RemovedFields}
		for _, o := range pl.Orphans {
			tp.Orphans = append(tp.Orphans, o.Message.In(lang))
		}
		v.Plan = tp
	}
	return v
}

// templatePage previews a template and offers its import (on a re-import,
// with the upgrade report to confirm).
func (s *server) templatePage(c echo.Context) error {
	d, b, err := s.templateDetail(c, c.Param("name"))
	if err != nil {
		return err
	}
	v := s.previewView(c, d, b)
	if n := c.QueryParam("imported"); n != "" && d.Installed != nil {
		v.Flash = web.Msg(v.Lang, "tpl.title") + " · " + tplImported(v.Lang, v.Card.Title, d.Installed.Version)
	}
	if err := s.svc.Audit(c.Request().Context(), principal(c), "page.view", d.Key, "", "/admin/templates/"+d.Name, engine.ResultOK, ""); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.TplPreviewView(v))
}

func tplImported(lang, title string, version int) string {
	return strings.NewReplacer("%s", title, "%d", strconv.Itoa(version)).Replace(web.Msg(lang, "tpl.imported"))
}

// importTemplatePage imports a template from the gallery. With sample
// data it goes on to the job's progress page; a re-import must carry the
// confirmation of the upgrade report, and one that would orphan data is
// shown again with the report when refused.
func (s *server) importTemplatePage(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	lang := pageLang(c)
	data, err := templates.Get(name)
	if err != nil {
		return err
	}
	sample := c.FormValue("sample_data") != ""
	confirm := c.FormValue("confirm") != ""
	sum, err := s.templateSummary(c, name)
	if err != nil {
		return err
	}
	var refused error
	if sum.Installed != nil && !confirm {
		refused = engine.Errorf(engine.ECONFLICT, engine.T(web.Msg(web.LangZh, "tpl.plan.need_confirm"), web.Msg(web.LangEn, "tpl.plan.need_confirm")))
	} else {
		v, err := s.svc.ImportApp(ctx, principal(c), data, engine.ImportOptions{SampleData: sample, ConfirmDataLoss: confirm})
		if err == nil {
			if v.Job != "" {
				return c.Redirect(http.StatusSeeOther, "/admin/templates/jobs/"+url.PathEscape(v.Job))
			}
			return c.Redirect(http.StatusSeeOther, "/admin/templates/"+url.PathEscape(name)+"?imported="+strconv.Itoa(v.Version))
		}
		if engine.ErrorCode(err) != engine.ECONFLICT {
			return err
		}
		refused = err
	}
	d, b, err := s.templateDetail(c, name)
	if err != nil {
		return err
	}
	v := s.previewView(c, d, b)
	v.Error = engine.ErrorMessage(refused, lang)
	return Render(c, http.StatusConflict, web.TplPreviewView(v))
}

// importJobPage follows a sample-data import with a progress bar that
// tpl.js moves by polling the job's JSON.
func (s *server) importJobPage(c echo.Context) error {
	lang := pageLang(c)
	j, err := s.svc.ImportJob(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	title := j.App
	for _, name := range templates.Names() {
		if info, err := templates.GetInfo(name); err == nil && info.Key == j.App {
			title = info.Title.In(lang)
		}
	}
	v := web.TplJobPage{Page: s.tplPage(c, title+" · "+web.Msg(lang, "tpl.job.title")), JobID: j.ID,
		PollURL: "/api/v1/import-jobs/" + url.PathEscape(j.ID), AppTitle: title, State: j.State, Done: j.Done, Total: j.Total, AppURL: "/"}
	for _, f := range j.Forms {
		v.Forms = append(v.Forms, web.TplJobForm{Key: f.Form, Title: f.Title.In(lang), Done: f.Done, Total: f.Total})
	}
	if j.Error != nil {
		v.Error = j.Error.In(lang)
	}
	return Render(c, http.StatusOK, web.TplJobView(v))
}
