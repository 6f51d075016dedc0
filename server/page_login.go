package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindLoginPages binds the login form, the language switch and logout,
// the second step of a login (the TOTP code, or the enrolment a role
// requires) and the signed-in user's own enrolment.
func (s *server) bindLoginPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/login", s.loginPage)
	e.POST("/login", s.loginSubmit)
	e.GET("/lang/:lang", s.switchLang)
	e.POST("/logout", s.logoutPage, page...)
	e.GET("/login/mfa", s.mfaStepPage)
	e.POST("/login/mfa", s.mfaStepSubmit)
	e.GET("/login/mfa/enrol", s.mfaLoginEnrolPage)
	e.POST("/login/mfa/enrol", s.mfaLoginEnrolSubmit)
	e.GET("/account/mfa", s.mfaEnrolPage, page...)
	e.POST("/account/mfa", s.mfaEnrolSubmit, page...)
}

// safeNext returns next when it is a path on this site, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (s *server) loginPage(c echo.Context) error {
	if authOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.renderLogin(c, http.StatusOK, "", "")
}

// renderLogin draws the login form with a fresh double-submit token.
func (s *server) renderLogin(c echo.Context, status int, email, msg string) error {
	// Keep a token the browser holds already, so two open login tabs
	// both work; a refused post gets a fresh one.
	tok := ""
	if ck, err := c.Cookie(cookieLogin); err == nil && status == http.StatusOK && len(ck.Value) == 32 {
		tok = ck.Value
	} else {
		tok = randomToken()
	}
	s.setCookie(c, cookieLogin, tok, s.now().Add(time.Hour), true)
	lang := pageLang(c)
	p := s.page(c, web.Msg(lang, "login.title"))
	p.CSRF = tok
	next := c.QueryParam("next")
	if c.Request().Method == http.MethodPost {
		next = c.FormValue("next")
	}
	return Render(c, status, web.LoginView(web.LoginPage{Page: p, Email: email, Next: safeNext(next), Error: msg}))
}

func (s *server) loginSubmit(c echo.Context) error {
	lang := pageLang(c)
	ck, err := c.Cookie(cookieLogin)
	if err != nil || !sameToken(c.FormValue(fieldCSRF), ck.Value) {
		return s.renderLogin(c, http.StatusForbidden, c.FormValue("email"), engine.T("页面已过期，请重新登录", "the page has expired; please log in again").In(lang))
	}
	email := c.FormValue("email")
	u, err := s.checkLogin(c, email, c.FormValue("password"))
	if err != nil {
		code := engine.ErrorCode(err)
		if code == engine.EINTERNAL || code == engine.EUNAVAILABLE {
			return err
		}
		return s.renderLogin(c, statusOf(code), email, engine.ErrorMessage(err, lang))
	}
	next := safeNext(c.FormValue("next"))
	// the second factor: no session until it is given
	need, enrolled, err := s.svc.MFAState(c.Request().Context(), u)
	if err != nil {
		return err
	}
	if need {
		if !enrolled {
			// enrolling with the password alone: only within the window
			// the engine keeps (the API's login answers the same)
			if err := s.svc.CheckMFAEnrolAtLogin(c.Request().Context(), principal(c), u); err != nil {
				return s.backToLogin(c, err)
			}
		}
		secret, pl, err := s.svc.StartPendingLogin(c.Request().Context(), u, !enrolled)
		if err != nil {
			return err
		}
		s.setCookie(c, cookieMFA, secret, pl.ExpiresAt, true)
		s.setCookie(c, cookieLogin, "", time.Time{}, true)
		if !enrolled {
			return c.Redirect(http.StatusSeeOther, "/login/mfa/enrol?next="+urlEscape(next))
		}
		return c.Redirect(http.StatusSeeOther, "/login/mfa?next="+urlEscape(next))
	}
	return s.startSession(c, u, next)
}

// startSession signs the user in with a session cookie and sends them on.
func (s *server) startSession(c echo.Context, u *engine.User, next string) error {
	secret, sess, err := s.org.CreateSession(c.Request().Context(), signInActor(c, u), u.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	s.setCookie(c, cookieSession, secret, sess.ExpiresAt, true)
	s.rememberLang(c, u.ID, pageLang(c))
	s.setCookie(c, cookieLogin, "", time.Time{}, true)
	s.setCookie(c, cookieMFA, "", time.Time{}, true)
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *server) logoutPage(c echo.Context) error {
	if err := s.endSession(c); err != nil {
		return err
	}
	_ = s.svc.Audit(c.Request().Context(), principal(c), "logout", "", "", authOf(c).user.ID, engine.ResultOK, "")
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *server) switchLang(c echo.Context) error {
	l := c.Param("lang")
	if l != web.LangZh && l != web.LangEn {
		return engine.Errorf(engine.ENOTFOUND, engine.T("不支持的语言", "unsupported language"))
	}
	s.setCookie(c, cookieLang, l, s.now().AddDate(1, 0, 0), true)
	if a := authOf(c); a != nil {
		s.rememberLang(c, a.user.ID, l)
	}
	return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
}

// cookieMFA holds the secret of a login waiting for its second factor.
const cookieMFA = "fw_mfa"

// pendingLogin finds the login waiting for its second factor, and its
// user, who must still be allowed to sign in.
func (s *server) pendingLogin(c echo.Context) (*engine.PendingLogin, *engine.User, error) {
	ctx := c.Request().Context()
	secret := ""
	if ck, err := c.Cookie(cookieMFA); err == nil {
		secret = ck.Value
	}
	pl, err := s.svc.FindPendingLogin(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.org.FindUserByID(ctx, pl.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Frozen {
		return nil, nil, engine.Errorf(engine.ELOCKED, engine.T("账号已冻结", "the account is frozen"))
	}
	return pl, u, nil
}

// backToLogin sends a browser whose pending login is gone to the password
// step again, with the reason.
func (s *server) backToLogin(c echo.Context, err error) error {
	code := engine.ErrorCode(err)
	if code != engine.ENOTFOUND && code != engine.ELOCKED && code != engine.EUNAUTHORIZED {
		return err
	}
	s.setCookie(c, cookieMFA, "", time.Time{}, true)
	return s.renderLogin(c, statusOf(code), "", engine.ErrorMessage(err, pageLang(c)))
}

func (s *server) mfaStepPage(c echo.Context) error {
	pl, _, err := s.pendingLogin(c)
	if err != nil {
		return s.backToLogin(c, err)
	}
	if pl.Enrol {
		return c.Redirect(http.StatusSeeOther, "/login/mfa/enrol?next="+urlEscape(safeNext(c.QueryParam("next"))))
	}
	return s.renderMFAStep(c, http.StatusOK, pl, safeNext(c.QueryParam("next")), "")
}

func (s *server) renderMFAStep(c echo.Context, status int, pl *engine.PendingLogin, next, msg string) error {
	lang := pageLang(c)
	p := s.page(c, web.Msg(lang, "mfa.title"))
	p.CSRF = pl.CSRF
	return Render(c, status, web.MFAStepView(web.MFAStepPage{Page: p, Next: next, Error: msg}))
}

func (s *server) mfaStepSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	pl, u, err := s.pendingLogin(c)
	if err != nil {
		return s.backToLogin(c, err)
	}
	next := safeNext(c.FormValue("next"))
	lang := pageLang(c)
	if !sameToken(c.FormValue(fieldCSRF), pl.CSRF) {
		return s.renderMFAStep(c, http.StatusForbidden, pl, next, engine.T("页面已过期，请重试", "the page has expired; try again").In(lang))
	}
	if !s.allow(c, s.login, c.RealIP()) {
		return s.renderMFAStep(c, http.StatusTooManyRequests, pl, next, engine.ErrorMessage(errRateLimited(), lang))
	}
	if err := s.svc.CheckLoginMFA(ctx, principal(c), u, c.FormValue("totp")); err != nil {
		if engine.ErrorCode(err) != engine.EUNAUTHORIZED {
			return err
		}
		if ferr := s.svc.FailPendingLogin(ctx, pl); ferr != nil {
			return ferr
		}
		if _, _, gone := s.pendingLogin(c); gone != nil {
			return s.backToLogin(c, gone)
		}
		return s.renderMFAStep(c, http.StatusUnauthorized, pl, next, errText(err, lang))
	}
	if err := s.svc.EndPendingLogin(ctx, pl); err != nil {
		return err
	}
	return s.startSession(c, u, next)
}

// mfaLoginEnrolPage is the enrolment a role requires, between the password
// and the session: the QR code and the confirm form.
func (s *server) mfaLoginEnrolPage(c echo.Context) error {
	pl, u, err := s.pendingLogin(c)
	if err != nil {
		return s.backToLogin(c, err)
	}
	if !pl.Enrol {
		return c.Redirect(http.StatusSeeOther, "/login/mfa?next="+urlEscape(safeNext(c.QueryParam("next"))))
	}
	if err := s.svc.CheckMFAEnrolAtLogin(c.Request().Context(), principal(c), u); err != nil {
		return s.backToLogin(c, err)
	}
	return s.renderEnrol(c, http.StatusOK, &engine.Principal{User: u, IP: c.RealIP()}, pl.CSRF, "/login/mfa/enrol", safeNext(c.QueryParam("next")), true, "")
}

// renderEnrol starts (or restarts) p's enrolment and shows its QR code;
// after a refused code (msg set) it shows the same enrolment again.
func (s *server) renderEnrol(c echo.Context, status int, p *engine.Principal, csrf, action, next string, required bool, msg string) error {
	lang := pageLang(c)
	pg := s.page(c, web.Msg(lang, "mfa.enrol_title"))
	pg.CSRF = csrf
	v := web.MFAEnrolPage{Page: pg, Required: required, Action: action, Next: next, Error: msg}
	var en *engine.MFAEnrolment
	var err error
	if msg != "" {
		en, err = s.svc.PendingMFAEnrolment(c.Request().Context(), p)
	}
	if en == nil && engine.ErrorCode(err) != engine.ECONFLICT {
		en, err = s.svc.EnrolMFA(c.Request().Context(), p)
	}
	if err != nil {
		if engine.ErrorCode(err) != engine.ECONFLICT {
			return err
		}
		v.Page.Flash = web.Msg(lang, "mfa.already")
		v.Codes = nil
		return Render(c, http.StatusOK, web.MFAEnrolView(v))
	}
	v.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG)
	v.Secret = en.Secret
	return Render(c, status, web.MFAEnrolView(v))
}

func (s *server) mfaLoginEnrolSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	pl, u, err := s.pendingLogin(c)
	if err != nil {
		return s.backToLogin(c, err)
	}
	next := safeNext(c.FormValue("next"))
	lang := pageLang(c)
	p := &engine.Principal{User: u, IP: c.RealIP()}
	if !sameToken(c.FormValue(fieldCSRF), pl.CSRF) || !pl.Enrol {
		return s.renderEnrol(c, http.StatusForbidden, p, pl.CSRF, "/login/mfa/enrol", next, true, engine.T("页面已过期，请重试", "the page has expired; try again").In(lang))
	}
	if err := s.svc.CheckMFAEnrolAtLogin(ctx, p, u); err != nil {
		return s.backToLogin(c, err)
	}
	codes, err := s.svc.ConfirmMFA(ctx, p, c.FormValue("totp"))
	if err != nil {
		if engine.ErrorCode(err) != engine.EINVALID {
			return err
		}
		if ferr := s.svc.FailPendingLogin(ctx, pl); ferr != nil {
			return ferr
		}
		return s.renderEnrol(c, http.StatusUnprocessableEntity, p, pl.CSRF, "/login/mfa/enrol", next, true, errText(err, lang))
	}
	if err := s.svc.EndPendingLogin(ctx, pl); err != nil {
		return err
	}
	if err := s.svc.Audit(ctx, p, "login.mfa", "", "", u.ID, engine.ResultOK, "enrolled at login"); err != nil {
		return err
	}
	secret, sess, err := s.org.CreateSession(ctx, signInActor(c, u), u.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	s.setCookie(c, cookieSession, secret, sess.ExpiresAt, true)
	s.setCookie(c, cookieMFA, "", time.Time{}, true)
	pg := s.page(c, web.Msg(lang, "mfa.enrol_title"))
	return Render(c, http.StatusOK, web.MFAEnrolView(web.MFAEnrolPage{Page: pg, Codes: codes, Next: next}))
}

// mfaEnrolPage is a signed-in user's own enrolment.
func (s *server) mfaEnrolPage(c echo.Context) error {
	a := authOf(c)
	csrf := ""
	if a.session != nil {
		csrf = a.session.CSRF
	}
	return s.renderEnrol(c, http.StatusOK, principal(c), csrf, "/account/mfa", "/", false, "")
}

func (s *server) mfaEnrolSubmit(c echo.Context) error {
	lang := pageLang(c)
	codes, err := s.svc.ConfirmMFA(c.Request().Context(), principal(c), c.FormValue("totp"))
	if err != nil {
		if engine.ErrorCode(err) != engine.EINVALID {
			return err
		}
		csrf := ""
		if a := authOf(c); a.session != nil {
			csrf = a.session.CSRF
		}
		return s.renderEnrol(c, http.StatusUnprocessableEntity, principal(c), csrf, "/account/mfa", "/", false, errText(err, lang))
	}
	pg := s.page(c, web.Msg(lang, "mfa.enrol_title"))
	return Render(c, http.StatusOK, web.MFAEnrolView(web.MFAEnrolPage{Page: pg, Codes: codes, Next: "/"}))
}
