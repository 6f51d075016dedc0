package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// userJSON is a user as the API shows it.
type userJSON struct {
	ID        string              `json:"id"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Unit      string              `json:"unit"`
	Admin     bool                `json:"admin"`
	Roles     map[string][]string `json:"roles,omitempty"`
	Frozen    bool                `json:"frozen"`
	CreatedAt time.Time           `json:"created_at"`
}

func userOut(u *engine.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Unit: u.Unit, Admin: u.Admin, Roles: u.Roles, Frozen: u.Frozen, CreatedAt: u.CreatedAt}
}

// checkLogin verifies an email and password with rate limits and
// lockout: too many attempts from one address → 429; a wrong password
// counts towards the lock, and the attempt that reaches the threshold or
// any attempt while locked → 423; a frozen user → 423. Every failure is
// audited with the source address.
func (s *server) checkLogin(c echo.Context, email, password string) (*engine.User, error) {
	ctx := c.Request().Context()
	p := principal(c)
	if !s.login.allow(c.RealIP()) {
		_ = s.svc.Audit(ctx, p, "login", "", "", engine.NormalizeEmail(email), engine.ResultDenied, "rate limited")
		return nil, errRateLimited()
	}
	u, err := s.org.CheckPassword(ctx, email, password)
	switch engine.ErrorCode(err) {
	case "":
	case engine.EUNAUTHORIZED:
		locked, lerr := s.org.RecordLoginFailure(ctx, engine.AuditActor{IP: c.RealIP()}, email, s.cfg.LockoutThreshold, s.cfg.LockoutDuration)
		if lerr != nil {
			return nil, lerr
		}
		if locked {
			return nil, engine.Errorf(engine.ELOCKED, engine.T("登录失败次数过多，账号暂时锁定，请稍后再试", "too many failed logins: the account is locked for now; try again later"))
		}
		_ = s.svc.Audit(ctx, p, "login", "", "", engine.NormalizeEmail(email), engine.ResultFailed, "wrong email or password")
		return nil, err
	case engine.ELOCKED:
		_ = s.svc.Audit(ctx, p, "login", "", "", engine.NormalizeEmail(email), engine.ResultDenied, "frozen or locked")
		return nil, err
	default:
		return nil, err
	}
	if err := s.org.ResetLoginFailures(ctx, engine.AuditActor{ID: u.ID, IP: c.RealIP()}, u.ID); err != nil {
		return nil, err
	}
	p.User = u
	_ = s.svc.Audit(ctx, p, "login", "", "", u.ID, engine.ResultOK, "")
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
	secret, _, err := s.org.CreateToken(c.Request().Context(), engine.AuditActor{ID: u.ID, IP: c.RealIP()}, u.ID, "login", &exp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"token": secret, "user": userOut(u), "expires_at": exp.UTC()})
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
