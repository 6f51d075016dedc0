package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAuthRoutes binds login and logout for scripts (bearer tokens).
func (s *server) bindAuthRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.POST(v1+"/auth/login", s.apiLogin)
	e.POST(v1+"/auth/logout", s.apiLogout, user...)
}

// userJSON is a user as the API shows it.
type userJSON struct {
	ID        string              `json:"id"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Unit      string              `json:"unit"`
	Admin     bool                `json:"admin"`
	Auditor   bool                `json:"auditor,omitempty"`
	Roles     map[string][]string `json:"roles,omitempty"`
	Frozen    bool                `json:"frozen"`
	CreatedAt time.Time           `json:"created_at"`
}

func userOut(u *engine.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Unit: u.Unit, Admin: u.Admin, Auditor: u.Auditor, Roles: u.Roles, Frozen: u.Frozen, CreatedAt: u.CreatedAt}
}

// checkLogin verifies an email and password with rate limits and
// lockout: too many attempts from one address → 429; a wrong password
// counts towards the lock, and the attempt that reaches the threshold or
// any attempt while locked → 423; a frozen user → 423. Every failure is
// audited with the source address.
func (s *server) checkLogin(c echo.Context, email, password string) (*engine.User, error) {
	ctx := c.Request().Context()
	p := principal(c)
	if !s.allow(c, s.login, c.RealIP()) {
		_ = s.svc.Audit(ctx, p, "login", "", "", engine.NormalizeEmail(email), engine.ResultDenied, "rate limited")
		return nil, errRateLimited()
	}
	// the engine counts failures, locks and audits every outcome
	u, err := s.org.LoginWithLockout(ctx, engine.AuditActor{IP: c.RealIP()}, email, password, s.cfg.LockoutThreshold, s.cfg.LockoutDuration)
	if err != nil {
		return nil, err
	}
	return u, nil
}

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"`
}

// apiLogin answers {"token", "user"}: the token is an API token (stored
// hashed) that expires after Config.SessionTTL; send it as
// "Authorization: Bearer TOKEN". POST /api/v1/auth/logout revokes it.
func (s *server) apiLogin(c echo.Context) error {
	var in loginBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := s.checkLogin(c, in.Email, in.Password)
	if err != nil {
		return err
	}
	if err := s.svc.CheckLoginMFA(c.Request().Context(), principal(c), u, in.TOTP); err != nil {
		return err
	}
	exp := s.now().Add(s.cfg.SessionTTL)
	secret, _, err := s.org.CreateToken(c.Request().Context(), signInActor(c, u), u.ID, "login", &exp)
	if err != nil {
		return err
	}
	out := map[string]any{"token": secret, "user": userOut(u), "expires_at": exp.UTC()}
	if u.MustChangePassword {
		// the token is good for POST /api/v1/account/password (and logout)
		// only; anything else answers 403 password_change_required
		out["password_change_required"] = true
	}
	return c.JSON(http.StatusOK, out)
}

// signInActor is the audit actor of u signing in with this request: its
// address and browser, which the new session or token keeps.
func signInActor(c echo.Context, u *engine.User) engine.AuditActor {
	return engine.AuditActor{ID: u.ID, IP: c.RealIP(), Agent: c.Request().UserAgent()}
}

// apiLogout revokes the bearer token, or ends the browser session.
func (s *server) apiLogout(c echo.Context) error {
	a := authOf(c)
	ctx := c.Request().Context()
	if a.token != "" {
		if err := s.org.DeleteToken(ctx, actorOf(c), engine.HashSecret(a.token)); err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
			return err
		}
	} else if a.session != nil {
		if err := s.endSession(c); err != nil {
			return err
		}
	}
	_ = s.svc.Audit(ctx, principal(c), "logout", "", "", a.user.ID, engine.ResultOK, "")
	return c.NoContent(http.StatusNoContent)
}

func (s *server) endSession(c echo.Context) error {
	ck, err := c.Cookie(cookieSession)
	if err == nil && ck.Value != "" {
		if err := s.org.DeleteSession(c.Request().Context(), actorOf(c), ck.Value); err != nil {
			return err
		}
	}
	s.setCookie(c, cookieSession, "", time.Time{}, true)
	return nil
}
