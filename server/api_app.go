package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/templates"
	"formwork/web"
)

// bindAppRoutes binds the apps: list, import, export, a form's definition
// and preview, and the meta-schemas a bundle is written against (open to
// anyone).
func (s *server) bindAppRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/meta-schemas/:name", s.metaSchema)
	e.GET(v1+"/apps", s.listApps, user...)
	e.POST(v1+"/apps", s.importApp, user...)
	e.GET(v1+"/apps/:app/bundle", s.exportApp, user...)
	e.GET(v1+"/apps/:app/forms/:form", s.getForm, user...)
	e.POST(v1+"/apps/:app/forms/:form/preview", s.apiPreview, user...)
}

// listApps lists the apps and forms the caller may use.
func (s *server) listApps(c echo.Context) error {
	apps, err := s.svc.ListApps(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	if apps == nil {
		apps = []*engine.AppSummary{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": apps})
}

// importApp validates and publishes a bundle (admin; the Service checks):
// 201 {"key", "version", "app_version"} or 422 with pointer errors.
// ?sample_data=true also creates the bundle's sample records, in the
// background: the answer carries the import job's id ("job"), whose
// progress is at /api/v1/import-jobs/{job}.
func (s *server) importApp(c echo.Context) error {
	b, err := readJSONBody(c.Request())
	if err != nil {
		return err
	}
	if err := checkDepth(b, 64); err != nil {
		return err
	}
	sample, _ := strconv.ParseBool(c.QueryParam("sample_data"))
	v, err := s.svc.ImportApp(c.Request().Context(), principal(c), b, engine.ImportOptions{SampleData: sample})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/apps/"+v.Key+"/bundle")
	return c.JSON(http.StatusCreated, v)
}

// apiImportTemplate imports a built-in template (admin; the Service
// checks): 201 {"key", "version", "app_version", "job"?}. ?sample_data=true
// starts the sample-data import job (follow it at /api/v1/import-jobs/{job});
// an upgrade that would orphan data is 409 with the list unless ?confirm=true.
func (s *server) apiImportTemplate(c echo.Context) error {
	data, err := templates.Get(c.Param("name"))
	if err != nil {
		return err
	}
	sample, _ := strconv.ParseBool(c.QueryParam("sample_data"))
	confirm, _ := strconv.ParseBool(c.QueryParam("confirm"))
	v, err := s.svc.ImportApp(c.Request().Context(), principal(c), data, engine.ImportOptions{SampleData: sample, ConfirmDataLoss: confirm})
	if err != nil {
		return err
	}
	if v.Job != "" {
		c.Response().Header().Set("Location", "/api/v1/import-jobs/"+v.Job)
	}
	return c.JSON(http.StatusCreated, v)
}

// exportApp returns the app's current bundle (admin; the Service checks).
func (s *server) exportApp(c echo.Context) error {
	b, err := s.svc.ExportApp(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, b)
}

// getForm returns the published form as the caller may see it.
func (s *server) getForm(c echo.Context) error {
	fv, err := s.svc.FormView(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, fv)
}

type previewBody struct {
	ID   string         `json:"id,omitempty"`
	Data map[string]any `json:"data"`
}

// previewOut is the rules' verdict on a form being filled in, with
// messages in the caller's language and values also as display text.
type previewOut struct {
	Fields map[string]engine.FieldState `json:"fields"`
	Data   map[string]any               `json:"data"`
	Values map[string]string            `json:"values"`
	Errors []previewError               `json:"errors"`
	// Rows: the states of subform columns with rules, by row
	Rows map[string][]map[string]engine.FieldState `json:"rows,omitempty"`
}

// previewError is a field error with its whole pointer besides the
// top-level key, so an error about a cell (/lines/2/qty) finds its row.
type previewError struct {
	ProblemField
	Pointer string `json:"pointer,omitempty"`
}

func previewResult(res *engine.EvalResult, lang string, extra []engine.FieldError) previewOut {
	out := previewOut{Fields: res.Fields, Data: res.Data, Values: map[string]string{}, Errors: []previewError{}, Rows: res.Rows}
	for k, v := range res.Data {
		out.Values[k] = web.FormatValue(v)
	}
	f := res.Form()
	for _, e := range append(slices.Clone(extra), res.Errors...) {
		var fd *engine.Field
		if f != nil {
			fd = f.Field(web.ErrorKey(e.Field))
		}
		out.Errors = append(out.Errors, previewError{ProblemField{Field: web.ErrorKey(e.Field), Code: e.Code, Message: web.FieldErrorText(lang, fd, e)}, e.Field})
	}
	return out
}

// apiPreview evaluates the form's rules on data without storing: field
// states, computed values and errors (in "errors", field = the top-level
// key).
func (s *server) apiPreview(c echo.Context) error {
	var in previewBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Data == nil {
		in.Data = map[string]any{}
	}
	res, err := s.svc.Preview(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), in.ID, in.Data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, previewResult(res, apiLang(c), nil))
}

// metaSchema serves one of the engine's meta-schemas.
func (s *server) metaSchema(c echo.Context) error {
	name := c.Param("name")
	if !slices.Contains(engine.MetaSchemaNames, name) {
		return engine.Errorf(engine.ENOTFOUND, engine.Tf("没有名为 %s 的元模式", "no meta-schema named %s", name))
	}
	b, err := engine.MetaSchema(name)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/schema+json", b)
}
