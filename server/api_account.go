package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAccountRoutes binds a user's own account — password, sessions and
// devices, personal API tokens — in the API and as pages, and an
// administrator's password reset. The engine decides who may: only the
// account's owner, never through a personal token; resets for
// administrators only.
func (s *server) bindAccountRoutes(e *echo.Echo, user, page, adminPage []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.POST(v1+"/account/password", s.apiChangePassword, user...)
	e.GET(v1+"/account/sessions", s.apiSessions, user...)
	e.DELETE(v1+"/account/sessions", s.apiEndOtherSessions, user...)
	e.DELETE(v1+"/account/sessions/:id", s.apiEndSession, user...)
	e.POST(v1+"/users/:id/password", s.apiResetPassword, user...)
	e.POST(v1+"/tokens", s.apiCreateToken, user...)
	e.GET(v1+"/tokens", s.apiTokens, user...)
	e.DELETE(v1+"/tokens/:id", s.apiRevokeToken, user...)
	s.bindAccountPages(e, page, adminPage)
}

type passwordBody struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// apiChangePassword sets the caller's own password: 204, or 422 with the
// field at fault (/current or /new). The caller's other sessions and login
// tokens end; the one the request came with stays.
func (s *server) apiChangePassword(c echo.Context) error {
	var in passwordBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(c.Request().Context(), principal(c), authOf(c).credentialID(), in.Current, in.New); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiResetPassword answers 201 {"password"}: a one-time password, shown
// only now, that the user must change at their next login.
func (s *server) apiResetPassword(c echo.Context) error {
	pw, u, err := s.svc.ResetPassword(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"password": pw, "user": userOut(u)})
}

// apiSessions answers {"items": [session…]}: the caller's browser sessions
// and login tokens, the current one marked.
func (s *server) apiSessions(c echo.Context) error {
	items, err := s.svc.Sessions(c.Request().Context(), principal(c), authOf(c).credentialID())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *server) apiEndSession(c echo.Context) error {
	if err := s.svc.EndSession(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiEndOtherSessions ends every session but the caller's: {"ended": N}.
func (s *server) apiEndOtherSessions(c echo.Context) error {
	n, err := s.svc.EndOtherSessions(c.Request().Context(), principal(c), authOf(c).credentialID())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ended": n})
}

// tokenJSON is a personal token as the API lists it (never its secret).
type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Apps       []string   `json:"apps"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func tokenOut(t *engine.APIToken) tokenJSON {
	apps := t.Apps
	if apps == nil {
		apps = []string{}
	}
	return tokenJSON{ID: t.ID, Name: t.Name, Apps: apps, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// apiCreateToken answers 201 {"id", "token", …}: the secret is shown only
// in this answer.
func (s *server) apiCreateToken(c echo.Context) error {
	var in engine.NewToken
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	secret, t, err := s.svc.CreatePersonalToken(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, struct {
		tokenJSON
		Token string `json:"token"`
	}{tokenOut(t), secret})
}

func (s *server) apiTokens(c echo.Context) error {
	ts, err := s.svc.PersonalTokens(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	items := make([]tokenJSON, len(ts))
	for i, t := range ts {
		items[i] = tokenOut(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *server) apiRevokeToken(c echo.Context) error {
	if err := s.svc.RevokePersonalToken(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
