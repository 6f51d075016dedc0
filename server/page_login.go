package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

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
	secret, sess, err := s.org.CreateSession(c.Request().Context(), engine.AuditActor{ID: u.ID, IP: c.RealIP()}, u.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	s.setCookie(c, cookieSession, secret, sess.ExpiresAt, true)
	s.setCookie(c, cookieLogin, "", time.Time{}, true)
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
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
	return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
}
