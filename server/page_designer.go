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

// bindDesignerPages binds the designer's pages under /designer. The pages
// check nothing themselves: every designer call asks the designer package,
// which refuses a user who may not design the app, and the refusal is the
// normal error page.
func (s *server) bindDesignerPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	page = append(slices.Clone(page), s.designerOn)
	e.GET("/designer", s.designerHomePage, page...)
	e.POST("/designer/apps", s.designerNewApp, page...)
	e.POST("/designer/start/template", s.designerStartTemplate, page...)
	e.POST("/designer/start/copy", s.designerStartCopy, page...)
	e.POST("/designer/start/sheet", s.designerStartSheet, page...)
	e.GET("/designer/apps/:app/preview", s.designerPreviewPage, page...)
	e.POST("/designer/apps/:app/preview", s.designerPreviewPage, page...)
	e.POST("/designer/apps/:app/preview/rules", s.designerPreviewRules, page...)
	e.GET("/designer/apps/:app/designers", s.designerDesignersPage, page...)
	e.POST("/designer/apps/:app/designers", s.designerSetDesigners, page...)
	e.GET("/designer/apps/:app", s.designerAppPage, page...)
	e.GET("/designer/apps/:app/forms/:form", s.designerFormPage, page...)
	e.GET("/designer/apps/:app/roles", s.designerRolesPage, page...)
	e.GET("/designer/apps/:app/workflows", s.designerFlowsPage, page...)
	e.POST("/designer/apps/:app/workflows", s.designerNewFlow, page...)
	e.GET("/designer/apps/:app/workflows/:key", s.designerFlowPage, page...)
	e.GET("/designer/apps/:app/publish", s.designerPublishPage, page...)
	e.POST("/designer/apps/:app/versions/:n/restore", s.designerRestore, page...)
	e.POST("/designer/apps/:app/publish", s.designerPublish, page...)
}

// draftBundle is what the pages read of a draft's bundle.
type draftBundle struct {
	App struct {
		Key  string      `json:"key"`
		Name engine.Text `json:"name"`
	} `json:"app"`
	Forms []struct {
		Key        string                     `json:"x-key"`
		Title      engine.Text                `json:"x-title"`
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"forms"`
}

// readDraft reads what the pages show of a draft; a draft is allowed to
// be incomplete, so what does not decode is left empty.
func readDraft(d *designer.Draft) *draftBundle {
	var b draftBundle
	_ = json.Unmarshal(d.Bundle, &b)
	if b.App.Name.IsZero() {
		b.App.Name = engine.Text{Zh: d.App, En: d.App}
	}
	return &b
}

// pageDraft reads the draft of the page's app (the designer package
// decides whether the user may).
func (s *server) pageDraft(c echo.Context) (*designer.Draft, *draftBundle, error) {
	d, err := s.designer.Draft(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return nil, nil, err
	}
	return d, readDraft(d), nil
}

func designerAppURL(app string) string { return "/designer/apps/" + url.PathEscape(app) }

func (s *server) designerPage(c echo.Context, title string) web.Page {
	pg := s.page(c, title)
	pg.Styles = append(pg.Styles, "designer/designer.css")
	return pg
}

// designerApps lists the apps on the designer's home page: those the
// designer package says the user may design (every app for an
// administrator, the apps an administrator named them a designer of
// otherwise).
func (s *server) designerApps(c echo.Context) ([]web.DesignerAppItem, error) {
	lang := pageLang(c)
	apps, err := s.designer.Apps(c.Request().Context(), principal(c))
	if err != nil {
		return nil, err
	}
	out := make([]web.DesignerAppItem, 0, len(apps))
	for _, a := range apps {
		out = append(out, web.DesignerAppItem{Key: a.Key, Name: a.Name.In(lang), URL: designerAppURL(a.Key), Draft: a.Draft})
	}
	return out, nil
}

func (s *server) designerHomePage(c echo.Context) error {
	return s.renderDesignerHome(c, http.StatusOK, "", "", "", "")
}

func (s *server) renderDesignerHome(c echo.Context, status int, msg, key, zh, en string) error {
	return s.renderDesignerStart(c, status, web.DesignerStart{Choice: "blank"}, msg, key, zh, en)
}

// blankBundle is a new app: its name and one empty form with the app's key.
func blankBundle(key string, name engine.Text) []byte {
	return engine.MustJSON(map[string]any{
		"formwork": "1",
		"app":      map[string]any{"key": key, "name": name, "version": "1.0.0"},
		"forms": []any{map[string]any{
			"$schema":    "https://json-schema.org/draft/2020-12/schema",
			"x-key":      key,
			"x-title":    name,
			"type":       "object",
			"properties": map[string]any{},
		}},
	})
}

// designerNewApp starts a blank app as a new draft and opens its form.
func (s *server) designerNewApp(c echo.Context) error {
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	key := strings.TrimSpace(c.FormValue("key"))
	zh, en := strings.TrimSpace(c.FormValue("name_zh")), strings.TrimSpace(c.FormValue("name_en"))
	refuse := func(msgKey string) error {
		return s.renderDesignerHome(c, http.StatusUnprocessableEntity, web.Msg(lang, msgKey), key, zh, en)
	}
	if !engine.KeyPattern.MatchString(key) {
		return refuse("dz.new.key_bad")
	}
	if zh == "" && en == "" {
		return refuse("dz.new.name_missing")
	}
	zh, en = eachOther(zh, en)
	// an app that exists already (published or as a draft) is not replaced
	_, err := s.designer.Draft(ctx, p, key)
	switch {
	case err == nil:
		return refuse("dz.new.exists")
	case engine.ErrorCode(err) != engine.ENOTFOUND:
		return err
	}
	if _, err := s.designer.Save(ctx, p, key, blankBundle(key, engine.Text{Zh: zh, En: en}), 0); err != nil {
		if engine.ErrorCode(err) == engine.ECONFLICT {
			return refuse("dz.new.exists")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, designerAppURL(key)+"/forms/"+url.PathEscape(key))
}

func (s *server) designerAppPage(c echo.Context) error {
	lang, app := pageLang(c), c.Param("app")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	v := web.DesignerAppPage{Page: s.designerPage(c, b.App.Name.In(lang)), App: app, Name: b.App.Name.In(lang),
		PublishURL: designerAppURL(app) + "/publish", RolesURL: designerAppURL(app) + "/roles", Base: d.Base, Draft: d.Version > 0, Problems: len(d.Problems)}
	for _, f := range b.Forms {
		title := f.Title.In(lang)
		if title == "" {
			title = f.Key
		}
		v.Forms = append(v.Forms, web.DesignerFormItem{Key: f.Key, Title: title, Fields: len(f.Properties),
			URL: designerAppURL(app) + "/forms/" + url.PathEscape(f.Key)})
	}
	if n, err := strconv.Atoi(c.QueryParam("restored")); err == nil && n > 0 {
		v.Flash = web.Msgf(lang, "dz.restored", n)
	}
	if d.Base > 0 {
		vs, err := s.designer.Versions(c.Request().Context(), principal(c), app)
		if err != nil {
			return err
		}
		name := s.actorNames(c)
		for _, ver := range vs {
			v.Versions = append(v.Versions, web.DesignerVersionItem{Version: ver.Version, AppVersion: ver.AppVersion, By: name(ver.By),
				At: fmtTime(ver.At), Summary: ver.Summary.In(lang), RestoreURL: designerAppURL(app) + "/versions/" + strconv.Itoa(ver.Version) + "/restore"})
		}
	}
	return Render(c, http.StatusOK, web.DesignerAppView(v))
}

// designerRestore puts a published version into the draft and shows the
// app page again.
func (s *server) designerRestore(c echo.Context) error {
	app := c.Param("app")
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return engine.Errorf(engine.ENOTFOUND, engine.T("没有这个版本", "there is no such version"))
	}
	if _, err := s.designer.Restore(c.Request().Context(), principal(c), app, n); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, designerAppURL(app)+"?restored="+strconv.Itoa(n))
}

func (s *server) designerFormPage(c echo.Context) error {
	ctx, lang := c.Request().Context(), pageLang(c)
	app, form := c.Param("app"), c.Param("form")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	title := ""
	found := false
	for _, f := range b.Forms {
		if f.Key == form {
			found, title = true, f.Title.In(lang)
		}
	}
	if !found {
		return engine.Errorf(engine.ENOTFOUND, engine.Tf("草稿中没有表单 %s", "the draft has no form %s", form))
	}
	if title == "" {
		title = form
	}
	v := web.DesignerFormPage{Page: s.designerPage(c, title), App: app, AppName: b.App.Name.In(lang), AppURL: designerAppURL(app),
		Form: form, FormTitle: title, DraftURL: "/api/v1/apps/" + url.PathEscape(app) + "/draft",
		PublishURL: designerAppURL(app) + "/publish", Palette: web.Palette(lang)}
	if d.Base > 0 {
		pub, _, err := s.svc.Bundle(ctx, app, 0)
		if err != nil {
			return err
		}
		if pf := pub.Form(form); pf != nil {
			for _, fd := range pf.Fields {
				v.Published = append(v.Published, fd.Key)
			}
		}
	}
	return Render(c, http.StatusOK, web.DesignerFormView(v))
}

// designerRolesPage is the roles and permissions of the draft: roles.js
// loads the draft and saves every change as a JSON Patch.
func (s *server) designerRolesPage(c echo.Context) error {
	lang, app := pageLang(c), c.Param("app")
	_, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerRolesPage{Page: s.designerPage(c, web.Msg(lang, "dz.roles")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), DraftURL: "/api/v1/apps/" + url.PathEscape(app) + "/draft"}
	v.Styles = append(v.Styles, "designer/start.css")
	if err := s.roleHolders(c, &v); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.DesignerRolesView(v))
}

func (s *server) designerPublishPage(c echo.Context) error {
	if n, err := strconv.Atoi(c.QueryParam("published")); err == nil && n > 0 {
		return s.renderPublished(c, n)
	}
	return s.renderPublish(c, http.StatusOK, "")
}

// renderPublish shows the draft's changes, their data impact and its
// problems, with the publish button (and the confirmation the impact needs).
func (s *server) renderPublish(c echo.Context, status int, msg string) error {
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	app := c.Param("app")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	df, err := s.designer.Diff(ctx, p, app)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerPublishPage{Page: s.designerPage(c, web.Msg(lang, "dz.publish")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Action: designerAppURL(app) + "/publish", Error: msg, NeedConfirm: len(df.Impact) > 0 || df.Stale()}
	if df.Stale() && d.Version > 0 {
		v.Stale = designer.StaleBase(df.Base, df.Published).Message.In(lang)
	}
	for _, ch := range df.Changes {
		v.Changes = append(v.Changes, ch.Summary.In(lang))
	}
	var pub *engine.Bundle
	if len(df.Impact) > 0 {
		if pub, _, err = s.svc.Bundle(ctx, app, 0); err != nil {
			return err
		}
	}
	for _, im := range df.Impact {
		v.Impact = append(v.Impact, impactText(lang, pub, im))
	}
	for _, pr := range d.Problems {
		v.Problems = append(v.Problems, pr.Message.In(lang))
	}
	if d.Base == 0 {
		v.SampleRows = sampleRows(d.Bundle) // a sheet's rows (or a template's samples): imported with the first version only
	}
	return Render(c, status, web.DesignerPublishView(v))
}

// impactText says which data a publish drops, with the published labels.
func impactText(lang string, pub *engine.Bundle, im designer.Impact) string {
	form, field := im.Form, im.Field
	if f := pub.Form(im.Form); f != nil {
		form = f.Title.In(lang)
		if fd := f.Field(im.Field); fd != nil {
			field = fd.LabelOr().In(lang)
		}
	}
	if im.Field == "" {
		return web.Msgf(lang, "dz.pub.impact_form", form, im.Records)
	}
	return web.Msgf(lang, "dz.pub.impact_item", form, field, im.Records)
}

func (s *server) designerPublish(c echo.Context) error {
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	app := c.Param("app")
	av, err := s.designer.Publish(ctx, p, app, designer.PublishOptions{Confirm: c.FormValue("confirm") == "1", SampleData: c.FormValue("sample_data") == "1"})
	if err != nil {
		switch engine.ErrorCode(err) {
		case engine.ECONFLICT:
			return s.renderPublish(c, http.StatusConflict, web.Msg(lang, "dz.pub.need_confirm"))
		case engine.EINVALID:
			return s.renderPublish(c, http.StatusUnprocessableEntity, errText(err, lang))
		}
		return err
	}
	to := designerAppURL(app) + "/publish?published=" + strconv.Itoa(av.Version)
	if av.Job != "" {
		to += "&importing=1"
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// renderPublished is the page after a publish: links to fill the forms.
func (s *server) renderPublished(c echo.Context, version int) error {
	lang, app := pageLang(c), c.Param("app")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerPublishPage{Page: s.designerPage(c, web.Msg(lang, "dz.publish")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Version: version}
	if c.QueryParam("importing") == "1" {
		v.Importing = sampleRows(d.Bundle)
	}
	for _, f := range b.Forms {
		v.Forms = append(v.Forms, web.DesignerFormItem{Key: f.Key, Title: f.Title.In(lang),
			URL: "/apps/" + url.PathEscape(app) + "/forms/" + url.PathEscape(f.Key) + "/new"})
	}
	return Render(c, http.StatusOK, web.DesignerPublishView(v))
}
