package server

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAccessRoutes binds the access-control API: explain, temporary grants
// and the caller's own two-factor enrolment. The engine checks who may call
// each.
func (s *server) bindAccessRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/access/explain", s.explainAccess, user...)
	e.GET(v1+"/access/grants", s.listGrants, user...)
	e.POST(v1+"/access/grants", s.createGrant, user...)
	e.DELETE(v1+"/access/grants/:id", s.revokeGrant, user...)
	e.POST(v1+"/auth/mfa/enrol", s.enrolMFA, user...)
	e.POST(v1+"/auth/mfa/confirm", s.confirmMFA, user...)
}

// explainAccess answers ?user=&app=&form=&record=&field= (admin) with the
// decision and the rules behind it, for a request from ?ip= (default: none).
func (s *server) explainAccess(c echo.Context) error {
	q := c.QueryParams()
	if q.Get("user") == "" || q.Get("app") == "" || q.Get("form") == "" {
		return engine.Invalid(engine.FieldError{Field: "/user", Code: "required", Message: engine.T("需要 user、app 和 form", "user, app and form are required")})
	}
	ex, err := s.svc.Explain(c.Request().Context(), principal(c), q.Get("user"), q.Get("app"), q.Get("form"), q.Get("record"), q.Get("field"), q.Get("ip"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ex)
}

func (s *server) listGrants(c echo.Context) error {
	gs, err := s.svc.ListGrants(c.Request().Context(), principal(c), c.QueryParam("user"))
	if err != nil {
		return err
	}
	if gs == nil {
		gs = []*engine.Grant{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": gs})
}

type grantBody struct {
	User      string            `json:"user"`
	App       string            `json:"app"`
	Form      string            `json:"form"`
	Ops       []string          `json:"operations"`
	Fields    map[string]string `json:"fields"`
	Scope     string            `json:"scope"`
	Reason    string            `json:"reason"`
	ExpiresAt time.Time         `json:"expires_at"`
}

func (s *server) createGrant(c echo.Context) error {
	var in grantBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	g, err := s.svc.CreateGrant(c.Request().Context(), principal(c), engine.NewGrant{User: in.User, App: in.App, Form: in.Form, Ops: in.Ops,
		Fields: in.Fields, Scope: in.Scope, Reason: in.Reason, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (s *server) revokeGrant(c echo.Context) error {
	if err := s.svc.RevokeGrant(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) enrolMFA(c echo.Context) error {
	en, err := s.svc.EnrolMFA(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"secret": en.Secret, "url": en.URL,
		"qr_png": "data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG)})
}

func (s *server) confirmMFA(c echo.Context) error {
	var in struct {
		TOTP string `json:"totp"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	codes, err := s.svc.ConfirmMFA(c.Request().Context(), principal(c), in.TOTP)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"recovery_codes": codes})
}
