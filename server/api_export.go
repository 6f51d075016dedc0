package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindExportRoutes binds exports: asking for one, following it and
// downloading its file (API.md "Data out and in").
func (s *server) bindExportRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	e.POST("/api/v1/apps/:app/forms/:form/exports", s.requestExport, user...)
	e.GET("/api/v1/exports", s.listExports, user...)
	e.GET("/api/v1/exports/:id", s.getExport, user...)
	e.GET("/api/v1/exports/:id/file", s.exportFile, user...)
}

// exportBody is the API's export request.
type exportBody struct {
	Format string          `json:"format"`
	Filter json.RawMessage `json:"filter"`
	Sort   string          `json:"sort"`
	Search string          `json:"q"`
	Fields []string        `json:"fields"`
}

// exportApprover is the workflow runtime as the engine's approver of
// exports, or nil without one (a typed nil pointer would not be nil).
func (s *server) exportApprover() engine.ExportApprover {
	if s.wf == nil {
		return nil
	}
	return s.wf
}

// requestExport → 202 {"id", "status"} with Location: the export.
func (s *server) requestExport(c echo.Context) error {
	var in exportBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Filter) > 0 {
		if err := checkDepth(in.Filter, s.cfg.MaxDepth); err != nil {
			return err
		}
		if string(in.Filter) == "null" {
			in.Filter = nil
		}
	}
	req := engine.ExportRequest{Format: in.Format, Filter: in.Filter, Sort: in.Sort, Search: in.Search, Fields: in.Fields, Lang: apiLang(c)}
	j, err := s.svc.RequestExport(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), req, s.exportApprover())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/exports/"+j.ID)
	return c.JSON(http.StatusAccepted, exportOut(j))
}

// exportJSON is an export as the API shows it.
type exportJSON struct {
	ID       string       `json:"id"`
	Status   string       `json:"status"`
	App      string       `json:"app"`
	Form     string       `json:"form"`
	Title    engine.Text  `json:"title"`
	Format   string       `json:"format"`
	Rows     int64        `json:"rows"`
	Done     int64        `json:"done"`
	Columns  []string     `json:"columns"`
	Unmasked []string     `json:"unmasked,omitempty"`
	Created  time.Time    `json:"created_at"`
	Expires  *time.Time   `json:"expires_at,omitempty"`
	File     string       `json:"file,omitempty"`
	Error    *engine.Text `json:"error,omitempty"`
}

func exportOut(j *engine.ExportJob) exportJSON {
	out := exportJSON{ID: j.ID, Status: j.State, App: j.App, Form: j.Form, Title: j.Title, Format: j.Format, Rows: j.Rows, Done: j.Done,
		Columns: j.Columns, Unmasked: j.Unmasked, Created: j.Created, Expires: j.Expires, Error: j.Error}
	if j.State == engine.ExportDone {
		out.File = "/api/v1/exports/" + j.ID + "/file"
	}
	return out
}

// listExports → {"items"}: the caller's exports, newest first.
func (s *server) listExports(c echo.Context) error {
	js, err := s.svc.Exports(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	items := make([]exportJSON, 0, len(js))
	for _, j := range js {
		items = append(items, exportOut(j))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// getExport → the export's progress (its owner only).
func (s *server) getExport(c echo.Context) error {
	j, err := s.svc.Export(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, exportOut(j))
}

// exportFile → the file (its owner only; 410 once expired, 409 before it
// is ready).
func (s *server) exportFile(c echo.Context) error {
	j, data, err := s.svc.ExportFile(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	typ := "text/csv; charset=utf-8"
	if j.Format == engine.ExportXLSX {
		typ = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	name := fmt.Sprintf("%s-%s.%s", j.Title.In(pageLang(c)), j.Created.In(s.svc.TimeZone()).Format("20060102-1504"), j.Format)
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", asciiName(name, j.ID+"."+j.Format), url.PathEscape(name)))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, typ, data)
}

// asciiName is name when it is plain ASCII, else fallback (old clients
// read only the plain filename parameter).
func asciiName(name, fallback string) string {
	for _, r := range name {
		if r > 126 || r < 32 || strings.ContainsRune(`"\`, r) {
			return fallback
		}
	}
	return name
}
