package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindRecordRoutes binds a form's records, their revisions and restore.
func (s *server) bindRecordRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const records = "/api/v1/apps/:app/forms/:form/records"
	e.POST(records, s.createRecord, user...)
	e.GET(records, s.listRecords, user...)
	e.GET(records+"/:id", s.getRecord, user...)
	e.PATCH(records+"/:id", s.updateRecord, user...)
	e.DELETE(records+"/:id", s.deleteRecord, user...)
	e.GET(records+"/:id/revisions", s.listRevisions, user...)
	e.POST(records+"/:id/restore", s.restoreRecord, user...)
}

type dataBody struct {
	Data map[string]any `json:"data"`
}

func (s *server) decodeData(c echo.Context) (map[string]any, error) {
	var in dataBody
	if err := s.decodeJSON(c, &in); err != nil {
		return nil, err
	}
	if in.Data == nil {
		return nil, badRequest(engine.T("请求须包含 data 对象", "the request needs a data object"),
			engine.FieldError{Field: "/data", Code: "required", Message: engine.T("缺少 data", "data is missing")})
	}
	return in.Data, nil
}

// jsonAppender is a value that appends its own JSON (engine.RecordView,
// engine.RecordList), as encoding/json would write it.
type jsonAppender interface {
	AppendJSON([]byte) ([]byte, error)
}

// jsonBufs are the buffers record responses are encoded into.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writeJSON answers v with status, encoded into a pooled buffer without
// reflection, as c.JSON would (a newline after the value).
func writeJSON(c echo.Context, status int, v jsonAppender) error {
	return writeJSONWith(c, status, v.AppendJSON)
}

// writeJSONWith is writeJSON of the JSON appendTo appends to a pooled
// buffer.
func writeJSONWith(c echo.Context, status int, appendTo func([]byte) ([]byte, error)) error {
	bp := jsonBufs.Get().(*[]byte)
	b, err := appendTo((*bp)[:0])
	if err != nil {
		return err
	}
	b = append(b, '\n')
	// With its length known, the body is sent as it is, not in chunks.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	err = c.JSONBlob(status, b)
	if cap(b) <= 1<<20 { // a rare huge page is not kept
		*bp = b
		jsonBufs.Put(bp)
	}
	return err
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

func recordURL(r *engine.RecordView) string {
	return "/api/v1/apps/" + r.App + "/forms/" + r.Form + "/records/" + r.ID
}

// createRecord → 201 with the record as the caller may see it.
func (s *server) createRecord(c echo.Context) error {
	data, err := s.decodeData(c)
	if err != nil {
		return err
	}
	r, err := s.svc.CreateRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), data)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", recordURL(r))
	c.Response().Header().Set("ETag", etag(r.Version))
	return writeJSON(c, http.StatusCreated, r)
}

// listRecords: ?filter=JSON&sort=-field&limit=N&cursor=C&q=TEXT&deleted=true
// and any number of date=FIELD:RANGE (a named range such as this_week, or
// FROM..TO as YYYY-MM-DD, in the organisation's time zone).
func (s *server) listRecords(c echo.Context) error {
	q := engine.ListQuery{Sort: c.QueryParam("sort"), Cursor: c.QueryParam("cursor"), Search: c.QueryParam("q")}
	if f := c.QueryParam("filter"); f != "" {
		if err := checkDepth([]byte(f), s.cfg.MaxDepth); err != nil {
			return err
		}
		q.Filter = []byte(f)
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest(engine.T("limit 须为 1 到 1000 的整数", "limit must be a whole number from 1 to 1000"),
				engine.FieldError{Field: "limit", Code: "range", Message: engine.T("limit 超出范围", "limit out of range")})
		}
		q.Limit = n
	}
	for _, d := range c.QueryParams()["date"] {
		field, rng, ok := strings.Cut(d, ":")
		if !ok || field == "" || rng == "" {
			return badRequest(engine.T("date 应为 字段:范围，如 _created_at:this_week", "date must be FIELD:RANGE, such as _created_at:this_week"),
				engine.FieldError{Field: "date", Code: "format", Message: engine.T("date 格式不正确", "date is malformed")})
		}
		q.Match = append(q.Match, engine.FieldMatch{Field: field, Range: rng})
	}
	if d := c.QueryParam("deleted"); d != "" {
		b, err := strconv.ParseBool(d)
		if err != nil {
			return badRequest(engine.T("deleted 须为 true 或 false", "deleted must be true or false"))
		}
		q.Deleted = b
	}
	// The page is encoded, then its audit event committed, before it is sent.
	return writeJSONWith(c, http.StatusOK, func(b []byte) ([]byte, error) {
		return s.svc.ListRecordsJSON(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), q, b)
	})
}

func (s *server) getRecord(c echo.Context) error {
	r, err := s.svc.GetRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(r.Version))
	return writeJSON(c, http.StatusOK, r)
}

// ifMatch reads If-Match: "VERSION" (quotes optional, W/ refused).
// required: a missing header is 428.
func ifMatch(c echo.Context, required bool) (int64, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		if required {
			return 0, engine.Errorf(codePrecondition, engine.T(`修改须带 If-Match: "版本号"`, `a change needs If-Match: "VERSION"`))
		}
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, badRequest(engine.T(`If-Match 须为 "版本号"`, `If-Match must be "VERSION"`))
	}
	return v, nil
}

// updateRecord applies a partial change at the version of If-Match.
func (s *server) updateRecord(c echo.Context) error {
	v, err := ifMatch(c, true)
	if err != nil {
		return err
	}
	data, err := s.decodeData(c)
	if err != nil {
		return err
	}
	r, err := s.svc.UpdateRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), v, data)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(r.Version))
	return writeJSON(c, http.StatusOK, r)
}

// deleteRecord moves the record to the recycle bin; If-Match is optional.
func (s *server) deleteRecord(c echo.Context) error {
	v, err := ifMatch(c, false)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), v); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) listRevisions(c echo.Context) error {
	revs, err := s.svc.Revisions(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"))
	if err != nil {
		return err
	}
	if revs == nil {
		revs = []*engine.RevisionView{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": revs})
}

type restoreBody struct {
	Revision int64 `json:"revision"`
}

func (s *server) restoreRecord(c echo.Context) error {
	var in restoreBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Revision < 1 {
		return engine.Invalid(engine.FieldError{Field: "/revision", Code: "minimum", Message: engine.T("revision 须为正整数", "revision must be a positive number")})
	}
	r, err := s.svc.RestoreRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), in.Revision)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(r.Version))
	return writeJSON(c, http.StatusOK, r)
}
