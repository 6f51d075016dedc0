package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindExportPages binds the export pages: choosing what to export from a
// list (its filters, search and sort come along), following an export's
// progress and the user's exports.
func (s *server) bindExportPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/apps/:app/forms/:form/export", s.exportPage, page...)
	e.POST("/apps/:app/forms/:form/export", s.submitExportPage, page...)
	e.GET("/exports", s.exportsPage, page...)
	e.GET("/exports/:id", s.exportProgressPage, page...)
}

// exportSelection reads a list's query (the list page's parameters) as an
// export request of fv, and says the selection in words.
func exportSelection(fv *engine.FormView, qs url.Values, lang string) (engine.ExportRequest, []string) {
	loc := web.ParseTZ(qs.Get("_tz"))
	flts, matches, _ := listFilters(fv, qs, lang, loc, formBase(fv.App, fv.Key))
	req := engine.ExportRequest{Match: matches, Search: qs.Get("q"), Sort: qs.Get("sort"), Lang: lang}
	var words []string
	if req.Search != "" {
		words = append(words, web.Msg(lang, "list.search")+web.Msg(lang, "exp.colon")+req.Search)
	}
	for _, f := range flts {
		v := f.Value
		if f.From != "" || f.To != "" {
			v = f.From + " – " + f.To
		}
		if strings.TrimSpace(v) != "" && strings.TrimSpace(v) != "–" {
			words = append(words, f.Label+web.Msg(lang, "exp.colon")+v)
		}
	}
	return req, words
}

func (s *server) exportPage(c echo.Context) error {
	return s.renderExportPage(c, http.StatusOK, "", c.QueryParams(), nil)
}

// renderExportPage shows the export form for the list query qs.
func (s *server) renderExportPage(c echo.Context, status int, msg string, qs url.Values, chosen []string) error {
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	if !slices.Contains(fv.Operations, engine.OpExport) {
		return engine.Forbidden(engine.T("你没有导出此表单数据的权限", "you may not export this form's records"))
	}
	_, words := exportSelection(fv, qs, lang)
	base := formBase(fv.App, fv.Key)
	v := web.ExportPage{Page: s.page(c, web.Msg(lang, "exp.title")+" · "+fv.Title.In(lang)), FormTitle: fv.Title.In(lang),
		ListURL: listLinks{base: base, qs: qs}.with(func(url.Values) {}), Action: base + "/export", Query: qs.Encode(), Selection: words, Error: msg}
	for _, fd := range engine.LayoutOrder(fv.Form) {
		perm, ok := fv.Perms[fd.Key]
		if !ok {
			continue // hidden
		}
		v.Columns = append(v.Columns, web.ExportColumn{Key: fd.Key, Label: fd.LabelOr().In(lang), Masked: perm == engine.PermMasked,
			Checked: len(chosen) == 0 || slices.Contains(chosen, fd.Key)})
	}
	return Render(c, status, web.ExportView(v))
}

// submitExportPage asks for the export and shows its progress.
func (s *server) submitExportPage(c echo.Context) error {
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	qs, _ := url.ParseQuery(c.FormValue("list"))
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	req, _ := exportSelection(fv, qs, lang)
	if id := qs.Get("view"); id != "" { // the open view's own filter (a bundle view's), as the list applied it
		v, err := s.svc.FindView(ctx, p, fv.App, fv.Key, id)
		if err != nil {
			return err
		}
		req.Filter = v.Filter
	}
	req.Format = c.FormValue("format")
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	req.Fields = form["field"]
	if len(req.Fields) == 0 {
		return s.renderExportPage(c, http.StatusUnprocessableEntity, web.Msg(lang, "exp.no_columns"), qs, nil)
	}
	j, err := s.svc.RequestExport(ctx, p, fv.App, fv.Key, req, s.exportApprover())
	if err != nil {
		if code := engine.ErrorCode(err); code == engine.EINVALID || code == engine.EBADREQUEST || code == engine.EUNAVAILABLE {
			return s.renderExportPage(c, statusOf(code), errText(err, lang), qs, req.Fields)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/exports/"+url.PathEscape(j.ID))
}

// exportProgressPage shows one export: a progress bar export.js keeps up
// to date, then the download link.
func (s *server) exportProgressPage(c echo.Context) error {
	lang := pageLang(c)
	j, err := s.svc.Export(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	pg := s.page(c, web.Msg(lang, "exp.progress_title")+" · "+j.Title.In(lang))
	pg.Scripts = append(pg.Scripts, "export.js")
	return Render(c, http.StatusOK, web.ExportProgressView(web.ExportProgressPage{Page: pg, Item: exportItem(j, lang),
		StatusURL: "/api/v1/exports/" + url.PathEscape(j.ID), ListURL: formBase(j.App, j.Form)}))
}

// exportItem is an export as the pages show it.
func exportItem(j *engine.ExportJob, lang string) web.ExportItem {
	it := web.ExportItem{ID: j.ID, Title: j.Title.In(lang), Format: strings.ToUpper(j.Format), Status: j.State, Rows: j.Rows, Done: j.Done,
		At: fmtTime(j.Created), URL: "/exports/" + url.PathEscape(j.ID)}
	if j.State == engine.ExportDone {
		it.FileURL = "/api/v1/exports/" + url.PathEscape(j.ID) + "/file"
	}
	if j.Expires != nil {
		it.Expires = fmtTime(*j.Expires)
	}
	if j.Error != nil {
		it.Error = j.Error.In(lang)
	}
	return it
}

// exportsPage lists the user's exports.
func (s *server) exportsPage(c echo.Context) error {
	lang := pageLang(c)
	js, err := s.svc.Exports(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	v := web.ExportsPage{Page: s.page(c, web.Msg(lang, "exp.mine"))}
	for _, j := range js {
		v.Items = append(v.Items, exportItem(j, lang))
	}
	return Render(c, http.StatusOK, web.ExportsView(v))
}
