package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindReauthRoutes binds proving the second factor again, which an anomaly
// rule may ask of a signed-in user: the API for tokens (and fetch), the
// page for browsers (authenticate sends a page request there).
func (s *server) bindReauthRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	e.POST("/api/v1/auth/reauth", s.apiReauth, user...)
	e.GET("/reauth", s.reauthPage, page...)
	e.POST("/reauth", s.reauthSubmit, page...)
}

// apiReauth takes {"totp"} for the caller's own token or session: 204 and
// it serves again; 401 with the field /totp when the code is wrong, or
// login_required when the credential was ended.
func (s *server) apiReauth(c echo.Context) error {
	var in struct {
		TOTP string `json:"totp"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if !s.allow(c, s.login, c.RealIP()) {
		return errRateLimited()
	}
	if err := s.svc.Reauthenticate(c.Request().Context(), principal(c), authOf(c).cred, in.TOTP); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) reauthPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if !authOf(c).stale {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.renderReauth(c, http.StatusOK, next, "")
}

func (s *server) renderReauth(c echo.Context, status int, next, msg string) error {
	lang := pageLang(c)
	return Render(c, status, web.MFAStepView(web.MFAStepPage{Page: s.page(c, web.Msg(lang, "mfa.title")), Next: next, Error: msg, Reauth: true}))
}

// reauthSubmit checks the code (the CSRF middleware has checked the
// session's token) and sends the browser back where it was; a session the
// engine ended goes to the login page.
func (s *server) reauthSubmit(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	lang := pageLang(c)
	if !authOf(c).stale {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if !s.allow(c, s.login, c.RealIP()) {
		return s.renderReauth(c, http.StatusTooManyRequests, next, engine.ErrorMessage(errRateLimited(), lang))
	}
	err := s.svc.Reauthenticate(c.Request().Context(), principal(c), authOf(c).cred, c.FormValue("totp"))
	if err == nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		return err
	}
	for _, f := range engine.ErrorFields(err) {
		if f.Code == "login_required" {
			email := authOf(c).user.Email
			s.setCookie(c, cookieSession, "", time.Time{}, true)
			c.Set(ctxAuth, nil) // signed out: the login page's top bar shows no one
			return s.renderLogin(c, http.StatusUnauthorized, email, engine.ErrorMessage(err, lang))
		}
	}
	return s.renderReauth(c, http.StatusUnauthorized, next, errText(err, lang))
}
