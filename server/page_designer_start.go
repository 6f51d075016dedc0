package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/templates"
	"formwork/web"
)

// renderDesignerStart is the designer's home page: the apps the user may
// design and the ways to start one, with start's card showing msg and
// what was sent when a start was refused.
func (s *server) renderDesignerStart(c echo.Context, status int, start web.DesignerStart, msg, key, zh, en string) error {
	lang := pageLang(c)
	apps, err := s.designerApps(c)
	if err != nil {
		return err
	}
	v := web.DesignerHomePage{Page: s.designerPage(c, web.Msg(lang, "dz.title")), Apps: apps, Error: msg, Key: key, NameZh: zh, NameEn: en,
		Start: start, Templates: designerTemplates(lang)}
	v.Styles = append(v.Styles, "designer/start.css")
	return Render(c, status, web.DesignerHomeView(v))
}

// designerTemplates are the built-in templates as the start card lists them.
func designerTemplates(lang string) []web.DesignerTemplateItem {
	var out []web.DesignerTemplateItem
	for _, name := range templates.Names() {
		info, err := templates.GetInfo(name)
		if err != nil {
			continue // an embedded template that does not parse is caught by the templates' tests
		}
		it := web.DesignerTemplateItem{Name: name, Key: info.Key, Title: info.Title.In(lang), Forms: len(info.Forms), Samples: info.SampleRecords}
		if info.Description != nil {
			it.Description = info.Description.In(lang)
		}
		out = append(out, it)
	}
	return out
}

// startForm is what every start card sends: the new app's key and its
// name, which may be left empty where the start has one to offer.
type startForm struct {
	choice, key, zh, en string
}

func readStartForm(c echo.Context, choice string) startForm {
	return startForm{choice: choice, key: strings.TrimSpace(c.FormValue("key")),
		zh: strings.TrimSpace(c.FormValue("name_zh")), en: strings.TrimSpace(c.FormValue("name_en"))}
}

// name is the name typed, each language standing in for the other; zero
// when neither was typed.
func (f startForm) name() engine.Text {
	zh, en := f.zh, f.en
	if zh == "" {
		zh = en
	}
	if en == "" {
		en = zh
	}
	return engine.T(zh, en)
}

// refuse shows the home page again with the card's input and the reason.
func (s *server) refuseStart(c echo.Context, f startForm, start web.DesignerStart, msg string) error {
	start.Choice = f.choice
	return s.renderDesignerStart(c, http.StatusUnprocessableEntity, start, msg, f.key, f.zh, f.en)
}

// startRefusal turns what the designer refused into the card's message:
// a bad key, a key taken, a sheet it cannot read. Anything else (not
// allowed to design, the store down) is the error page.
func (s *server) startRefusal(c echo.Context, f startForm, start web.DesignerStart, err error) error {
	lang := pageLang(c)
	switch engine.ErrorCode(err) {
	case engine.ECONFLICT:
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.new.exists"))
	case engine.EINVALID, engine.EBADREQUEST:
		return s.refuseStart(c, f, start, errText(err, lang))
	case engine.ETOOLARGE:
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.too_large"))
	}
	return err
}

// started opens the new app's page.
func started(c echo.Context, app string) error {
	return c.Redirect(http.StatusSeeOther, designerAppURL(app))
}

// designerStartTemplate starts a new app's draft from a built-in
// template, under the key the manager chose.
func (s *server) designerStartTemplate(c echo.Context) error {
	lang := pageLang(c)
	f := readStartForm(c, "template")
	start := web.DesignerStart{Template: c.FormValue("template")}
	data, err := templates.Get(start.Template)
	if err != nil {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.no_template"))
	}
	if _, err := s.designer.StartFrom(c.Request().Context(), principal(c), f.key, f.name(), data); err != nil {
		return s.startRefusal(c, f, start, err)
	}
	return started(c, f.key)
}

// designerStartCopy starts a new app's draft as a copy of the published
// version of an app the user may design.
func (s *server) designerStartCopy(c echo.Context) error {
	lang := pageLang(c)
	f := readStartForm(c, "copy")
	start := web.DesignerStart{Source: c.FormValue("source")}
	if start.Source == "" {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.no_source"))
	}
	if _, err := s.designer.StartCopy(c.Request().Context(), principal(c), start.Source, f.key, f.name()); err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.not_published"))
		}
		return s.startRefusal(c, f, start, err)
	}
	return started(c, f.key)
}

// designerStartSheet starts a new app's draft from an uploaded .xlsx or
// .csv: the header row becomes the fields, the rows the sample data that
// the first publish may import as records.
func (s *server) designerStartSheet(c echo.Context) error {
	lang := pageLang(c)
	f := readStartForm(c, "sheet")
	start := web.DesignerStart{}
	mf, err := multipartForm(c)
	if err != nil {
		if engine.ErrorCode(err) == engine.ETOOLARGE {
			return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.too_large"))
		}
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.no_file"))
	}
	file, err := onlyFile(mf)
	if err != nil || file.Size == 0 {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.no_file"))
	}
	lower := strings.ToLower(file.Filename)
	if !strings.HasSuffix(lower, ".xlsx") && !strings.HasSuffix(lower, ".csv") {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.not_sheet"))
	}
	name := f.name()
	if name.IsZero() {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.new.name_missing"))
	}
	r, err := file.Open()
	if err != nil {
		return s.refuseStart(c, f, start, web.Msg(lang, "dz.s.no_file"))
	}
	defer r.Close()
	if _, _, err := s.designer.StartFromSheet(c.Request().Context(), principal(c), f.key, name, file.Filename, r); err != nil {
		return s.startRefusal(c, f, start, err)
	}
	return c.Redirect(http.StatusSeeOther, designerAppURL(f.key)+"/forms/records")
}

// designerDesignersPage lists who may design the app and lets an
// administrator change that; the engine refuses anyone else (listing the
// users to pick from is an administrator's question too).
func (s *server) designerDesignersPage(c echo.Context) error {
	msg := ""
	if c.QueryParam("saved") == "1" {
		msg = web.Msg(pageLang(c), "dz.d.saved")
	}
	return s.renderDesigners(c, http.StatusOK, "", msg)
}

func (s *server) renderDesigners(c echo.Context, status int, errMsg, flash string) error {
	ctx, p, lang, app := c.Request().Context(), principal(c), pageLang(c), c.Param("app")
	_, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	ids, err := s.designer.Designers(ctx, p, app)
	if err != nil {
		return err
	}
	users, err := s.svc.Users(ctx, p)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerDesignersPage{Page: s.designerPage(c, web.Msg(lang, "dz.d.title")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Action: designerAppURL(app) + "/designers", Error: errMsg, Flash: flash}
	chosen := map[string]bool{}
	for _, id := range ids {
		chosen[id] = true
	}
	for _, u := range users {
		du := web.DesignerUser{ID: u.ID, Name: u.Name, Email: u.Email, Chosen: chosen[u.ID]}
		if u.Admin {
			continue // administrators design every app anyway
		}
		v.Pick = append(v.Pick, du)
		if du.Chosen {
			v.Users = append(v.Users, du)
		}
	}
	return Render(c, status, web.DesignerDesignersView(v))
}

// designerSetDesigners names the app's designers: the users ticked and
// the emails typed (one a line).
func (s *server) designerSetDesigners(c echo.Context) error {
	app := c.Param("app")
	if _, err := c.FormParams(); err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	refs := []string{}
	seen := map[string]bool{}
	add := func(r string) {
		if r = strings.TrimSpace(r); r != "" && !seen[strings.ToLower(r)] {
			seen[strings.ToLower(r)] = true
			refs = append(refs, r)
		}
	}
	for _, u := range c.Request().Form["user"] {
		add(u)
	}
	for _, line := range strings.FieldsFunc(c.FormValue("emails"), func(r rune) bool { return r == '\n' || r == ',' || r == ';' || r == '，' }) {
		add(line)
	}
	if err := s.designer.SetDesigners(c.Request().Context(), principal(c), app, refs); err != nil {
		if engine.ErrorCode(err) == engine.EINVALID {
			return s.renderDesigners(c, http.StatusUnprocessableEntity, errText(err, pageLang(c)), "")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, designerAppURL(app)+"/designers?saved=1")
}

// sampleRows counts the sample records a draft bundle holds.
func sampleRows(bundle []byte) int {
	var b struct {
		SampleData map[string][]any `json:"sample_data"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return 0
	}
	n := 0
	for _, recs := range b.SampleData {
		n += len(recs)
	}
	return n
}

// roleHolders says how many users hold each role of the app, for an
// administrator (listing users is theirs to ask; for anyone else the
// roles page shows no counts).
func (s *server) roleHolders(c echo.Context, v *web.DesignerRolesPage) error {
	if v.User == nil || !v.User.Admin {
		return nil
	}
	users, err := s.svc.Users(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	n := map[string]int{}
	for _, u := range users {
		for _, r := range u.Roles[v.App] {
			n[r]++
		}
	}
	v.Holders, v.UsersURL = string(engine.MustJSON(n)), "/admin/users"
	return nil
}
