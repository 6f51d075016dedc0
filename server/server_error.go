package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// codePrecondition is the server's own code for a PATCH without If-Match
// (428); the engine never returns it.
const codePrecondition = "precondition_required"

// statusOf is the one mapping from error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case engine.EBADREQUEST:
		return http.StatusBadRequest
	case engine.EUNAUTHORIZED, engine.EREAUTH:
		return http.StatusUnauthorized
	case engine.EFORBIDDEN, engine.EPASSWORDCHANGE:
		return http.StatusForbidden
	case engine.ENOTFOUND:
		return http.StatusNotFound
	case engine.ECONFLICT:
		return http.StatusConflict
	case engine.EGONE:
		return http.StatusGone
	case engine.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case engine.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case engine.EINVALID:
		return http.StatusUnprocessableEntity
	case engine.ELOCKED:
		return http.StatusLocked
	case engine.ERATELIMIT:
		return http.StatusTooManyRequests
	case engine.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case codePrecondition:
		return http.StatusPreconditionRequired
	}
	return http.StatusInternalServerError
}

// codeOfStatus maps statuses that echo itself raises (no route, wrong
// method, …) back to codes.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed:
		return engine.EBADREQUEST
	case http.StatusUnauthorized:
		return engine.EUNAUTHORIZED
	case http.StatusForbidden:
		return engine.EFORBIDDEN
	case http.StatusNotFound:
		return engine.ENOTFOUND
	case http.StatusRequestEntityTooLarge:
		return engine.ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return engine.EUNSUPPORTED
	case http.StatusTooManyRequests:
		return engine.ERATELIMIT
	case http.StatusServiceUnavailable:
		return engine.EUNAVAILABLE
	}
	return engine.EINTERNAL
}

// titles are the problem titles by code.
var titles = map[string]engine.Text{
	engine.EBADREQUEST:     engine.T("请求有误", "Bad request"),
	engine.EUNAUTHORIZED:   engine.T("未登录", "Not logged in"),
	engine.EFORBIDDEN:      engine.T("无权操作", "Forbidden"),
	engine.ENOTFOUND:       engine.T("未找到", "Not found"),
	engine.ECONFLICT:       engine.T("版本冲突", "Conflict"),
	engine.ETOOLARGE:       engine.T("请求过大", "Too large"),
	engine.EUNSUPPORTED:    engine.T("不支持的内容类型", "Unsupported media type"),
	engine.EINVALID:        engine.T("数据有误", "Invalid data"),
	engine.ELOCKED:         engine.T("账号已锁定", "Locked"),
	engine.EPASSWORDCHANGE: engine.T("请先修改密码", "Password change required"),
	engine.EREAUTH:         engine.T("需要再次验证", "Verification required"),
	engine.ERATELIMIT:      engine.T("请求过于频繁", "Too many requests"),
	engine.EUNAVAILABLE:    engine.T("服务暂不可用", "Unavailable"),
	engine.EINTERNAL:       engine.T("服务器内部错误", "Internal error"),
	codePrecondition:       engine.T("缺少版本条件", "Precondition required"),
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Detail string         `json:"detail"`
	Errors []ProblemField `json:"errors,omitempty"`
	// RequestID names the request in the server's log (X-Request-Id).
	RequestID string `json:"request_id,omitempty"`
}

// ProblemField is one field error of a Problem.
type ProblemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// problemOf turns any error into a problem in lang. Errors that are not
// ours become a generic 500 and are logged; nothing of them is shown.
func (s *server) problemOf(c echo.Context, err error, lang string) Problem {
	var he *echo.HTTPError
	if errors.As(err, &he) && !isEngineError(err) {
		code := codeOfStatus(he.Code)
		p := Problem{Type: "about:blank", Status: he.Code, Code: code, Title: titles[code].In(lang), RequestID: requestIDOf(c)}
		if code == engine.EINTERNAL {
			p.Title = http.StatusText(he.Code)
		}
		p.Detail = p.Title
		if he.Code >= 500 {
			s.log.Error("request failed", "request_id", requestIDOf(c), "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		return p
	}
	code := engine.ErrorCode(err)
	status := statusOf(code)
	if code == engine.EINTERNAL {
		s.log.Error("request failed", "request_id", requestIDOf(c), "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	} else if code == engine.EUNAVAILABLE {
		s.log.Warn("request failed", "request_id", requestIDOf(c), "path", c.Request().URL.Path, "err", err)
	}
	p := Problem{Type: "about:blank", Status: status, Code: code, Title: titles[code].In(lang), Detail: engine.ErrorMessage(err, lang), RequestID: requestIDOf(c)}
	for _, f := range engine.ErrorFields(err) {
		p.Errors = append(p.Errors, ProblemField{Field: f.Field, Code: f.Code, Message: f.Message.In(lang)})
	}
	return p
}

func isEngineError(err error) bool {
	var e *engine.Error
	return errors.As(err, &e)
}

// handleError renders every error: problem+json for the API, a readable
// page for browsers.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if isAPI(c) {
		lang := apiLang(c)
		p := s.problemOf(c, err, lang)
		if p.Status == http.StatusTooManyRequests && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "1")
		}
		writeProblem(c, p)
		return
	}
	lang := pageLang(c)
	p := s.problemOf(c, err, lang)
	if p.Code == engine.EREAUTH && c.Request().Method == http.MethodGet {
		_ = c.Redirect(http.StatusSeeOther, "/reauth?next="+urlEscape(c.Request().URL.RequestURI()))
		return
	}
	if p.Status == http.StatusUnauthorized && c.Request().Method == http.MethodGet {
		_ = c.Redirect(http.StatusSeeOther, "/login?next="+urlEscape(c.Request().URL.RequestURI()))
		return
	}
	detail := p.Detail
	for _, f := range p.Errors {
		detail += fmt.Sprintf(" %s: %s", f.Field, f.Message)
	}
	v := web.ErrorPage{Page: s.page(c, p.Title), Status: p.Status, Detail: detail}
	if rerr := Render(c, p.Status, web.ErrorView(v)); rerr != nil {
		s.log.Error("render error page", "err", rerr)
	}
}

func writeProblem(c echo.Context, p Problem) {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}
