package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// limitBody caps every request body: the bundle import and the designer's
// drafts may be larger than the rest. Reading past the cap fails with *http.MaxBytesError, which the
// decoders turn into 413.
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit := s.cfg.BodyLimit
		if (r.Method == http.MethodPost && r.URL.Path == "/api/v1/apps") || isDraftWrite(r) {
			limit = s.cfg.BundleLimit
		}
		if isMultipart(r) { // uploads: server/upload.go
			limit = s.cfg.UploadLimit
		}
		if r.ContentLength > limit {
			return errTooLarge(limit)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// isDraftWrite reports whether r saves or patches a designer's draft
// (PUT or PATCH /api/v1/apps/{app}/draft), which carries a whole bundle.
func isDraftWrite(r *http.Request) bool {
	if r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/apps/")
	app, tail, _ := strings.Cut(rest, "/")
	return ok && app != "" && tail == "draft"
}

func errTooLarge(limit int64) error {
	return engine.Errorf(engine.ETOOLARGE, engine.Tf("请求体超过 %d 字节", "the request body is larger than %d bytes", limit))
}

func badRequest(msg engine.Text, fields ...engine.FieldError) error {
	return &engine.Error{Code: engine.EBADREQUEST, Message: msg, Fields: fields}
}

// readJSONBody checks the content type and reads the body whole.
func readJSONBody(r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !(mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil, engine.Errorf(engine.EUNSUPPORTED, engine.T("请求体须为 application/json", "the request body must be application/json"))
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(mbe.Limit)
		}
		return nil, badRequest(engine.T("读取请求体失败", "the request body could not be read"))
	}
	return b, nil
}

// decodeJSON reads a JSON request body into v (a pointer to a struct):
// application/json only (415), within the body limit (413), at most
// maxDepth levels deep, well-formed, one value, no unknown top-level keys
// (400, with the pointer of the offending key).
func (s *server) decodeJSON(c echo.Context, v any) error {
	b, err := readJSONBody(c.Request())
	if err != nil {
		return err
	}
	return decodeBody(b, s.cfg.MaxDepth, v)
}

// decodeBody is the decoding core, apart from HTTP so it can be fuzzed.
func decodeBody(b []byte, maxDepth int, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest(engine.T("请求体为空", "the request body is empty"))
	}
	if err := checkDepth(b, maxDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest(engine.T("请求体只能包含一个 JSON 值", "the request body must hold exactly one JSON value"))
	}
	return nil
}

// checkDepth refuses documents nested deeper than max, before any
// decoding allocates for them.
func checkDepth(b []byte, max int) error {
	depth, inStr, esc := 0, false, false
	for _, ch := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case ch == '\\':
				esc = true
			case ch == '"':
				inStr = false
			}
			continue
		}
		switch ch {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > max {
				return badRequest(engine.Tf("JSON 嵌套超过 %d 层", "the JSON is nested deeper than %d levels", max))
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest(engine.Tf("JSON 格式错误（第 %d 字节）", "malformed JSON at byte %d", se.Offset))
	case errors.As(err, &te):
		ptr := "/" + strings.ReplaceAll(te.Field, ".", "/")
		if te.Field == "" {
			ptr = ""
		}
		return badRequest(engine.T("JSON 值的类型不对", "a JSON value has the wrong type"),
			engine.FieldError{Field: ptr, Code: "type", Message: engine.Tf("应为 %s", "expected %s", te.Type.String())})
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return badRequest(engine.T("JSON 不完整", "the JSON ends too early"))
	}
	if k, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		k, _ = strconv.Unquote(k)
		return badRequest(engine.T("请求中有未知的键", "the request has an unknown key"),
			engine.FieldError{Field: engine.JSONPointer(k), Code: "unknown", Message: engine.Tf("未知的键 %s", "unknown key %s", k)})
	}
	return badRequest(engine.T("请求体无法解析", "the request body could not be decoded"))
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}

func urlEscape(s string) string { return url.QueryEscape(s) }
