package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/exchange"
)

// bindImportRoutes binds imports of records from .xlsx and .csv files:
// the API (upload, progress and report, run again, failed rows) and the
// import pages behind the list page's Import button.
func (s *server) bindImportRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.POST(v1+"/apps/:app/forms/:form/imports", s.createImport, user...)
	e.GET(v1+"/imports/:id", s.getImport, user...)
	e.POST(v1+"/imports/:id/run", s.runImport, user...)
	e.GET(v1+"/imports/:id/failed", s.importFailed, user...)
	const form = "/apps/:app/forms/:form/import"
	e.GET(form, s.importUploadPage, page...)
	e.POST(form, s.importUploadSubmit, page...)
	e.GET(form+"/:id", s.importPage, page...)
	e.POST(form+"/:id", s.importPageRun, page...)
	e.GET(form+"/:id/failed", s.importFailed, page...)
}

// importReaders is how many uploads a process reads into tables at once:
// the largest file ReadTable takes (50,000 rows of 20 columns) holds about
// 120 MB while it is read, and more at once would finish no sooner. Others
// wait for a slot, as long as their client does.
const importReaders = 1

// readImport checks that p may import into the form (a refusal is audited)
// before it reads anything of the upload, so a file costs a user who may
// not import nothing; then receives the file and reads it into a table in
// one of the process's import slots (a slow client's transfer holds none).
// release frees the slot: call it once the table is stored.
func (s *server) readImport(c echo.Context, app, form string) (name string, t *engine.ImportTable, release func(), err error) {
	ctx := c.Request().Context()
	if _, err := s.svc.ImportFields(ctx, principal(c), app, form); err != nil {
		return "", nil, nil, err
	}
	name, data, err := importUpload(c)
	if err != nil {
		return "", nil, nil, err
	}
	if release, err = s.importSlots.Take(ctx); err != nil {
		return "", nil, nil, err
	}
	if t, err = exchange.ReadTable(name, data); err != nil {
		release()
		return "", nil, nil, err
	}
	return name, t, release, nil
}

// importUpload receives the multipart "file" part: its base name and bytes.
func importUpload(c echo.Context) (string, []byte, error) {
	mf, err := multipartForm(c)
	if err != nil {
		return "", nil, err
	}
	fh, err := onlyFile(mf)
	if err != nil {
		return "", nil, err
	}
	if fh.Size > exchange.MaxImportFileSize {
		return "", nil, engine.Errorf(engine.ETOOLARGE, engine.Tf("文件超过 %d MB", "the file is larger than %d MB", exchange.MaxImportFileSize>>20))
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, badRequest(engine.T("上传内容无法解析", "the upload could not be read"))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, exchange.MaxImportFileSize+1))
	if err != nil {
		return "", nil, badRequest(engine.T("上传内容无法解析", "the upload could not be read"))
	}
	name := fh.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return name, data, nil
}

// importOptions reads dry_run, mapping (a JSON object: column letter →
// field key) and key from a multipart form or a JSON body's values.
func importOptions(dryRun, mapping, key string) (engine.RecordImportOptions, error) {
	opt := engine.RecordImportOptions{KeyField: strings.TrimSpace(key)}
	if dryRun != "" {
		b, err := strconv.ParseBool(dryRun)
		if err != nil {
			return opt, badRequest(engine.T("dry_run 须为 true 或 false", "dry_run must be true or false"),
				engine.FieldError{Field: "/dry_run", Code: "type", Message: engine.T("dry_run 须为 true 或 false", "dry_run must be true or false")})
		}
		opt.DryRun = b
	}
	if mapping != "" {
		if err := json.Unmarshal([]byte(mapping), &opt.Mapping); err != nil {
			return opt, badRequest(engine.T("mapping 须为列字母到字段的对象", "mapping must be an object from column letters to field keys"),
				engine.FieldError{Field: "/mapping", Code: "type", Message: engine.T("mapping 格式不对", "mapping is not an object of strings")})
		}
	}
	return opt, nil
}

// createImport: multipart file, dry_run, mapping, key → 202 {"id", "status"}.
func (s *server) createImport(c echo.Context) error {
	name, t, release, err := s.readImport(c, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	defer release()
	mf := c.Request().MultipartForm
	opt, err := importOptions(first(mf.Value["dry_run"]), first(mf.Value["mapping"]), first(mf.Value["key"]))
	if err != nil {
		return err
	}
	j, err := s.svc.StartRecordImport(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), name, t, opt)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/imports/"+url.PathEscape(j.ID))
	return c.JSON(http.StatusAccepted, map[string]string{"id": j.ID, "status": j.State})
}

// importJSON is an import as the API shows it, messages in the caller's language.
type importJSON struct {
	ID              string            `json:"id"`
	App             string            `json:"app"`
	Form            string            `json:"form"`
	File            string            `json:"file"`
	Status          string            `json:"status"`
	DryRun          bool              `json:"dry_run"`
	Key             string            `json:"key,omitempty"`
	Rows            int               `json:"rows"`
	Processed       int               `json:"processed"`
	Written         int               `json:"written"`
	Created         int               `json:"created"`
	Updated         int               `json:"updated"`
	Failed          int               `json:"failed"`
	Errors          []importErrorJSON `json:"errors"`
	ErrorsTruncated bool              `json:"errors_truncated,omitempty"`
	Columns         []importColJSON   `json:"columns"`
	Error           string            `json:"error,omitempty"`
}

type importErrorJSON struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Header  string `json:"header,omitempty"`
	Field   string `json:"field,omitempty"`
	Label   string `json:"label"`
	Message string `json:"message"`
}

type importColJSON struct {
	Column string `json:"column"`
	Header string `json:"header"`
	Field  string `json:"field,omitempty"`
	Note   string `json:"note,omitempty"`
}

func importView(j *engine.RecordImport, lang string) importJSON {
	v := importJSON{ID: j.ID, App: j.App, Form: j.Form, File: j.File, Status: j.State, DryRun: j.DryRun, Key: j.KeyField, Rows: j.Rows,
		Processed: j.Processed, Written: j.Written, Created: j.Created, Updated: j.Updated, Failed: j.Failed,
		Errors: make([]importErrorJSON, 0, len(j.Errors)), ErrorsTruncated: j.Truncated, Columns: make([]importColJSON, 0, len(j.Columns))}
	for _, e := range j.Errors {
		v.Errors = append(v.Errors, importErrorJSON{Row: e.Row, Column: e.Column, Header: e.Header, Field: e.Field, Label: e.Label.In(lang), Message: e.Message.In(lang)})
	}
	for _, c := range j.Columns {
		cj := importColJSON{Column: c.Letter, Header: c.Header, Field: c.Field}
		if c.Note != nil {
			cj.Note = c.Note.In(lang)
		}
		v.Columns = append(v.Columns, cj)
	}
	if j.Error != nil {
		v.Error = j.Error.In(lang)
	}
	return v
}

// getImport: the import's progress and report (its owner only).
func (s *server) getImport(c echo.Context) error {
	j, err := s.svc.RecordImport(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, importView(j, apiLang(c)))
}

// runImport: {"dry_run"?, "mapping"?, "key"?} → 202: the same upload
// again, for real or with another mapping.
func (s *server) runImport(c echo.Context) error {
	var in struct {
		DryRun  bool              `json:"dry_run"`
		Mapping map[string]string `json:"mapping"`
		Key     string            `json:"key"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	j, err := s.svc.RunRecordImport(c.Request().Context(), principal(c), c.Param("id"),
		engine.RecordImportOptions{DryRun: in.DryRun, Mapping: in.Mapping, KeyField: strings.TrimSpace(in.Key)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": j.ID, "status": j.State})
}

// importFailed: the rows the import's last run could not write, as an
// .xlsx with an error column (its owner only; audited).
func (s *server) importFailed(c echo.Context) error {
	lang := apiLang(c)
	if !isAPI(c) {
		lang = pageLang(c)
	}
	j, headers, failed, err := s.svc.RecordImportFailures(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	if app := c.Param("app"); app != "" && (app != j.App || c.Param("form") != j.Form) {
		return engine.Errorf(engine.ENOTFOUND, engine.T("导入任务不存在", "no such import"))
	}
	var buf bytes.Buffer
	if err := exchange.WriteImportReport(&buf, headers, failed, lang); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+j.ID+`-failed.xlsx"`)
	return c.Blob(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}
