package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/exchange"
	"formwork/web"
)

// The import pages: the upload form; then one import's page, which shows
// a progress bar while a run goes on (import.js follows the API and
// reloads when it is over), and after a dry run the mapping and the
// report with the buttons to check again or import for real.

func importBase(app, form string) string { return formBase(app, form) + "/import" }

func (s *server) importUploadView(c echo.Context, fv *engine.FormView, msg string) web.ImportUploadPage {
	lang := pageLang(c)
	pg := s.page(c, web.Msg(lang, "imp.title"))
	pg.Styles = append(pg.Styles, "import.css")
	return web.ImportUploadPage{Page: pg, FormTitle: fv.Title.In(lang), ListURL: formBase(fv.App, fv.Key), Action: importBase(fv.App, fv.Key),
		Error: msg, Limits: web.Msgf(lang, "imp.limits", engine.MaxImportRows, exchange.MaxImportFileSize>>20)}
}

// importUploadPage asks for the file; the import operation is checked (and
// a refusal audited) by the engine.
func (s *server) importUploadPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	if _, err := s.svc.ImportFields(ctx, p, fv.App, fv.Key); err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.ImportUploadView(s.importUploadView(c, fv, "")))
}

// importUploadSubmit reads the file and starts a dry run; a file refused
// as a whole comes back on the upload page with the reason.
func (s *server) importUploadSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	name, t, release, err := s.readImport(c, fv.App, fv.Key)
	if err == nil {
		var j *engine.RecordImport
		j, err = s.svc.StartRecordImport(ctx, p, fv.App, fv.Key, name, t, engine.RecordImportOptions{DryRun: true})
		release()
		if err == nil {
			return c.Redirect(http.StatusSeeOther, importBase(fv.App, fv.Key)+"/"+url.PathEscape(j.ID))
		}
	}
	switch engine.ErrorCode(err) {
	case engine.EINVALID, engine.EBADREQUEST, engine.ETOOLARGE, engine.EUNSUPPORTED:
		msg := engine.ErrorMessage(err, lang)
		if fes := engine.ErrorFields(err); len(fes) > 0 {
			msg = fes[0].Message.In(lang)
		}
		if mf := c.Request().MultipartForm; mf != nil && len(mf.File["file"]) == 0 {
			msg = web.Msg(lang, "imp.no_file")
		}
		return Render(c, statusOf(engine.ErrorCode(err)), web.ImportUploadView(s.importUploadView(c, fv, msg)))
	}
	return err
}

// pageImport loads the import of the page's address, its owner only and
// only under its own form.
func (s *server) pageImport(c echo.Context) (*engine.FormView, *engine.RecordImport, error) {
	ctx := c.Request().Context()
	p := principal(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return nil, nil, err
	}
	j, err := s.svc.RecordImport(ctx, p, c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	if j.App != fv.App || j.Form != fv.Key {
		return nil, nil, engine.Errorf(engine.ENOTFOUND, engine.T("导入任务不存在", "no such import"))
	}
	return fv, j, nil
}

func (s *server) importPage(c echo.Context) error {
	fv, j, err := s.pageImport(c)
	if err != nil {
		return err
	}
	fields, err := s.svc.ImportFields(c.Request().Context(), principal(c), fv.App, fv.Key)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, web.ImportView(s.importView(c, fv, j, fields)))
}

func (s *server) importView(c echo.Context, fv *engine.FormView, j *engine.RecordImport, fields []engine.ImportField) web.ImportPage {
	lang := pageLang(c)
	pg := s.page(c, web.Msg(lang, "imp.title"))
	pg.Styles = append(pg.Styles, "import.css")
	pg.Scripts = append(pg.Scripts, "import.js")
	base := importBase(fv.App, fv.Key) + "/" + url.PathEscape(j.ID)
	v := web.ImportPage{Page: pg, FormTitle: fv.Title.In(lang), ListURL: formBase(fv.App, fv.Key), Action: base, File: j.File,
		DryRun: j.DryRun, Running: !j.Over(), Rows: j.Rows, Processed: j.Processed, Truncated: j.Truncated}
	if v.Running {
		v.PollURL = "/api/v1/imports/" + url.PathEscape(j.ID)
		return v
	}
	if j.Error != nil {
		v.Error = j.Error.In(lang)
	}
	if j.DryRun {
		v.Summary = web.Msgf(lang, "imp.dry_done", j.Rows, j.Written, j.Failed)
	} else {
		v.Summary = web.Msgf(lang, "imp.done", j.Rows, j.Created, j.Updated, j.Failed)
	}
	if !j.DryRun && j.Failed > 0 {
		v.FailedURL = base + "/failed"
	}
	labels := map[string]string{}
	for _, f := range fields {
		labels[f.Key] = f.Label.In(lang)
	}
	if j.DryRun && j.State == engine.ImportDone {
		v.CanRun = true
		v.RunLabel = web.Msgf(lang, "imp.run", j.Written)
		v.KeyOptions = []web.Option{{Value: "", Label: web.Msg(lang, "imp.key_none"), Selected: j.KeyField == ""}}
		for _, col := range j.Columns {
			cv := web.ImportColumnView{Letter: col.Letter, Header: col.Header, Name: "map." + col.Letter, ID: "map-" + col.Letter}
			if col.Note != nil {
				cv.Note = col.Note.In(lang)
			}
			cv.Options = append(cv.Options, web.Option{Value: "", Label: web.Msg(lang, "imp.ignore"), Selected: col.Field == ""})
			for _, f := range fields {
				cv.Options = append(cv.Options, web.Option{Value: f.Key, Label: f.Label.In(lang), Selected: col.Field == f.Key})
			}
			v.Columns = append(v.Columns, cv)
			if col.Field != "" {
				v.KeyOptions = append(v.KeyOptions, web.Option{Value: col.Field, Label: web.Msgf(lang, "imp.key_by", labels[col.Field]), Selected: j.KeyField == col.Field})
			}
		}
	}
	for _, e := range j.Errors {
		where := e.Label.In(lang)
		if e.Column != "" {
			where = e.Column + " · " + e.Header
		}
		v.Errors = append(v.Errors, web.ImportErrorView{Row: e.Row, Column: where, Message: e.Message.In(lang)})
	}
	return v
}

// importPageRun posts the mapping: check again (a dry run) or import.
func (s *server) importPageRun(c echo.Context) error {
	fv, j, err := s.pageImport(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	opt := engine.RecordImportOptions{DryRun: form.Get("action") != "run", Mapping: map[string]string{}, KeyField: strings.TrimSpace(form.Get("key"))}
	for k, vs := range form {
		if letter, ok := strings.CutPrefix(k, "map."); ok && len(vs) > 0 {
			opt.Mapping[letter] = vs[0]
		}
	}
	if _, err := s.svc.RunRecordImport(c.Request().Context(), principal(c), j.ID, opt); err != nil {
		switch engine.ErrorCode(err) {
		case engine.EINVALID, engine.ECONFLICT:
			fields, ferr := s.svc.ImportFields(c.Request().Context(), principal(c), fv.App, fv.Key)
			if ferr != nil {
				return ferr
			}
			v := s.importView(c, fv, j, fields)
			v.Error = engine.ErrorMessage(err, pageLang(c))
			if fes := engine.ErrorFields(err); len(fes) > 0 {
				v.Error = fes[0].Message.In(pageLang(c))
			}
			return Render(c, statusOf(engine.ErrorCode(err)), web.ImportView(v))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, importBase(fv.App, fv.Key)+"/"+url.PathEscape(j.ID))
}
