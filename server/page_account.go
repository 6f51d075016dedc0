package server

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medama-io/go-useragent"

	"formwork/engine"
	"formwork/web"
)

// bindAccountPages binds the account pages — /account (password),
// /account/sessions, /account/tokens, beside /account/mfa — and the
// reset button of the admin's user page.
func (s *server) bindAccountPages(e *echo.Echo, page, adminPage []echo.MiddlewareFunc) {
	e.GET("/account", s.accountPasswordPage, page...)
	e.POST("/account/password", s.accountPasswordSubmit, page...)
	e.GET("/account/sessions", s.accountSessionsPage, page...)
	e.POST("/account/sessions/end-others", s.accountEndOthers, page...)
	e.POST("/account/sessions/:id/end", s.accountEndSession, page...)
	e.GET("/account/tokens", s.accountTokensPage, page...)
	e.POST("/account/tokens", s.accountCreateToken, page...)
	e.POST("/account/tokens/:id/revoke", s.accountRevokeToken, page...)
	e.POST("/admin/users/:id/password", s.adminUserPassword, adminPage...)
}

// accountFlashes are the reports a redirect back to an account page may
// name in ?ok= (a key, never text from the address bar).
var accountFlashes = map[string]bool{
	"account.password.saved": true, "account.sessions.ended": true,
	"account.sessions.ended_others": true, "account.tokens.revoked": true,
}

// accountPage fills what every account tab needs.
func (s *server) accountPage(c echo.Context, tab string) web.AccountPage {
	lang := pageLang(c)
	pg := s.page(c, web.Msg(lang, "account.tab."+tab))
	pg.Styles = append(pg.Styles, "account.css")
	if ok := c.QueryParam("ok"); accountFlashes[ok] {
		pg.Flash = web.Msg(lang, ok)
	}
	u := authOf(c).user
	return web.AccountPage{Page: pg, Tab: tab, Name: u.Name, Email: u.Email, MustChange: u.MustChangePassword, Fields: map[string]string{}}
}

func (s *server) accountPasswordPage(c echo.Context) error {
	return Render(c, http.StatusOK, web.AccountView(s.accountPage(c, "password")))
}

func (s *server) accountPasswordSubmit(c echo.Context) error {
	v := s.accountPage(c, "password")
	if c.FormValue("new") != c.FormValue("confirm") {
		v.Fields["confirm"] = web.Msg(v.Lang, "account.password.mismatch")
		return Render(c, http.StatusUnprocessableEntity, web.AccountView(v))
	}
	err := s.svc.ChangePassword(c.Request().Context(), principal(c), authOf(c).credentialID(), c.FormValue("current"), c.FormValue("new"))
	if err != nil {
		if !fieldErrorsInto(v.Fields, err, v.Lang) {
			return err
		}
		return Render(c, statusOf(engine.ErrorCode(err)), web.AccountView(v))
	}
	return c.Redirect(http.StatusSeeOther, "/account?ok=account.password.saved")
}

// fieldErrorsInto puts the field errors of a refusal (EINVALID) into
// fields by input name (the pointer without its slash and index) and
// reports whether err was one.
func fieldErrorsInto(fields map[string]string, err error, lang string) bool {
	if engine.ErrorCode(err) != engine.EINVALID {
		return false
	}
	for _, fe := range engine.ErrorFields(err) {
		name, _, _ := strings.Cut(strings.TrimPrefix(fe.Field, "/"), "/")
		if fields[name] == "" {
			fields[name] = fe.Message.In(lang)
		}
	}
	return true
}

func (s *server) accountSessionsPage(c echo.Context) error {
	v := s.accountPage(c, "sessions")
	ss, err := s.svc.Sessions(c.Request().Context(), principal(c), authOf(c).credentialID())
	if err != nil {
		return err
	}
	for _, se := range ss {
		v.Sessions = append(v.Sessions, web.AccountSession{ID: se.ID, Kind: se.Kind, Device: describeAgent(se.Agent, v.Lang), IP: se.IP,
			Created: s.stamp(se.CreatedAt), LastSeen: s.stampOr(se.LastSeenAt, v.Lang), Current: se.Current})
	}
	return Render(c, http.StatusOK, web.AccountView(v))
}

func (s *server) accountEndSession(c echo.Context) error {
	err := s.svc.EndSession(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return err
	}
	// one ended meanwhile (in another tab) is ended all the same
	return c.Redirect(http.StatusSeeOther, "/account/sessions?ok=account.sessions.ended")
}

func (s *server) accountEndOthers(c echo.Context) error {
	if _, err := s.svc.EndOtherSessions(c.Request().Context(), principal(c), authOf(c).credentialID()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account/sessions?ok=account.sessions.ended_others")
}

func (s *server) accountTokensPage(c echo.Context) error {
	return s.renderTokens(c, http.StatusOK, s.accountPage(c, "tokens"))
}

// renderTokens draws the tokens tab: the tokens, the apps to limit a new
// one to, and whatever v already holds (a new secret, a refused form).
func (s *server) renderTokens(c echo.Context, status int, v web.AccountPage) error {
	ctx := c.Request().Context()
	p := principal(c)
	ts, err := s.svc.PersonalTokens(ctx, p)
	if err != nil {
		return err
	}
	apps, err := s.svc.ListApps(ctx, p)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, a := range apps {
		names[a.Key] = a.Name.In(v.Lang)
		v.Apps = append(v.Apps, web.Choice{Value: a.Key, Label: names[a.Key]})
	}
	for _, t := range ts {
		row := web.AccountToken{ID: t.ID, Name: t.Name, Created: s.stamp(t.CreatedAt), Expires: s.stampOr(t.ExpiresAt, v.Lang), LastUsed: s.stampOr(t.LastUsedAt, v.Lang)}
		if len(t.Apps) == 0 {
			row.Apps = web.Msg(v.Lang, "account.tokens.all_apps")
		} else {
			labels := make([]string, len(t.Apps))
			for i, a := range t.Apps {
				labels[i] = cmpOr(names[a], a)
			}
			row.Apps = strings.Join(labels, "、")
		}
		v.Tokens = append(v.Tokens, row)
	}
	return Render(c, status, web.AccountView(v))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *server) accountCreateToken(c echo.Context) error {
	v := s.accountPage(c, "tokens")
	form, err := c.FormParams()
	if err != nil {
		return engine.Errorf(engine.EBADREQUEST, engine.T("表单无法读取", "the form could not be read"))
	}
	v.TokenForm = web.AccountTokenForm{Name: form.Get("name"), Days: form.Get("days"), Apps: map[string]bool{}}
	for _, a := range form["app"] {
		v.TokenForm.Apps[a] = true
	}
	in := engine.NewToken{Name: v.TokenForm.Name, ExpiresIn: "P" + v.TokenForm.Days + "D", Apps: form["app"]}
	secret, t, err := s.svc.CreatePersonalToken(c.Request().Context(), principal(c), in)
	if err != nil {
		if !fieldErrorsInto(v.Fields, err, v.Lang) {
			return err
		}
		v.Fields["days"] = v.Fields["expires_in"]
		return s.renderTokens(c, http.StatusUnprocessableEntity, v)
	}
	// The secret is shown in this answer only: no redirect carries it.
	v.NewToken = &web.AccountNewToken{Name: t.Name, Secret: secret}
	v.TokenForm = web.AccountTokenForm{}
	return s.renderTokens(c, http.StatusOK, v)
}

func (s *server) accountRevokeToken(c echo.Context) error {
	err := s.svc.RevokePersonalToken(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account/tokens?ok=account.tokens.revoked")
}

// adminUserPassword resets a user's password and shows the one-time
// password on their page, this once.
func (s *server) adminUserPassword(c echo.Context) error {
	pw, _, err := s.svc.ResetPassword(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		if formError(err) && engine.ErrorCode(err) != engine.ENOTFOUND {
			return s.renderUser(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)))
		}
		return err
	}
	return s.renderUserWith(c, http.StatusOK, func(v *web.AdminUserPage) { v.OneTimePassword = pw })
}

// stamp is a time as the account pages show it, in the organisation's
// time zone.
func (s *server) stamp(t time.Time) string {
	return t.In(s.svc.TimeZone()).Format("2006-01-02 15:04")
}

func (s *server) stampOr(t *time.Time, lang string) string {
	if t == nil {
		return web.Msg(lang, "account.sessions.never")
	}
	return s.stamp(*t)
}

// agentParser reads User-Agent strings; it is built once, on first use.
var agentParser = sync.OnceValue(useragent.NewParser)

// describeAgent names a browser and system in words ("Chrome 131 · Windows");
// a script's agent (curl/8.5) is shown as it is.
func describeAgent(agent, lang string) string {
	if agent == "" {
		return web.Msg(lang, "account.sessions.unknown")
	}
	ua := agentParser().Parse(agent)
	browser, os := ua.GetBrowser(), ua.GetOS()
	if browser == "" && os == "" {
		name, _, _ := strings.Cut(agent, " ")
		return name
	}
	out := browser
	if v := ua.BrowserVersionMajor(); browser != "" && v != "" {
		out += " " + v
	}
	if os != "" {
		if out != "" {
			out += " · "
		}
		out += os
	}
	return out
}
