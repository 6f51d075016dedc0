package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// Cookie names.
const (
	cookieSession = "fw_session" // the session secret (HttpOnly)
	cookieLogin   = "fw_login"   // the login form's CSRF token before a session exists
	cookieLang    = "fw_lang"    // the language switch
	headerCSRF    = "X-CSRF-Token"
	fieldCSRF     = "_csrf"
)

// auth is who a request comes from.
type auth struct {
	user     *engine.User
	session  *engine.Session  // set for a browser session
	token    string           // the bearer secret, set for an API token
	apiToken *engine.APIToken // the token of that secret
	cred     engine.Credential
	verified time.Time // when the credential last proved the second factor
	stale    bool      // it must prove it again (only reauthPaths are served)
	creds    *engine.Credentials
}

// newAuth is the auth of a credential Org.Authenticate found.
func newAuth(cr *engine.Credentials) *auth {
	a := &auth{user: cr.User, session: cr.Session, apiToken: cr.Token, verified: cr.Verified(), creds: cr}
	if cr.Session != nil {
		a.cred = engine.Credential{Kind: engine.KindSession, ID: cr.Session.ID}
	} else {
		a.cred = engine.Credential{Kind: engine.KindToken, ID: cr.Token.ID}
	}
	return a
}

// credentialID is the id of the session or token a request came with, the
// one a password change keeps and the sessions list marks as current.
func (a *auth) credentialID() string {
	if a.session != nil {
		return a.session.ID
	}
	if a.apiToken != nil {
		return a.apiToken.ID
	}
	return ""
}

// reauthPaths serve a credential that must prove the second factor again:
// proving it, and leaving.
var reauthPaths = map[string]bool{"/reauth": true, "/api/v1/auth/reauth": true, "/logout": true, "/api/v1/auth/logout": true}

const ctxAuth = "fw.auth"

func authOf(c echo.Context) *auth {
	a, _ := c.Get(ctxAuth).(*auth)
	return a
}

// principal is the engine's view of who acts.
func principal(c echo.Context) *engine.Principal {
	p := &engine.Principal{IP: c.RealIP()}
	if a := authOf(c); a != nil {
		p.User = a.user
		if a.creds != nil {
			p.Auth, p.AppDoc = &a.creds.Versions, a.creds.AppDoc
		}
		if a.apiToken != nil && a.apiToken.Personal {
			p.Token = a.apiToken
		}
	}
	return p
}

func actorOf(c echo.Context) engine.AuditActor {
	a := engine.AuditActor{IP: c.RealIP(), Agent: c.Request().UserAgent()}
	if au := authOf(c); au != nil {
		a.ID = au.user.ID
	}
	return a
}

// authenticate finds the user of a bearer token or a session cookie. A
// bad or expired credential is not an error here — requireUser decides —
// but a frozen user's session or token is refused at once (423), and one
// that must prove the second factor again is refused (401
// reauth_required; a browser's page request is sent to /reauth).
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/static/") {
			return next(c)
		}
		ctx := c.Request().Context()
		var a *auth
		if h := c.Request().Header.Get("Authorization"); h != "" {
			secret, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || secret == "" {
				return engine.Errorf(engine.EUNAUTHORIZED, engine.T("Authorization 须为 Bearer 令牌", "the Authorization header must be a Bearer token"))
			}
			cr, err := s.org.AuthenticateIn(ctx, engine.KindToken, strings.TrimSpace(secret), c.Param("app"))
			if err != nil {
				if engine.ErrorCode(err) == engine.ENOTFOUND {
					return engine.Errorf(engine.EUNAUTHORIZED, engine.T("令牌无效或已过期", "the token is not valid or has expired"))
				}
				return err
			}
			a = newAuth(cr)
			a.token = strings.TrimSpace(secret)
		} else if ck, err := c.Cookie(cookieSession); err == nil && ck.Value != "" {
			cr, err := s.org.AuthenticateIn(ctx, engine.KindSession, ck.Value, c.Param("app"))
			switch {
			case err == nil:
				a = newAuth(cr)
			case engine.ErrorCode(err) != engine.ENOTFOUND:
				return err
			}
		}
		if a != nil {
			if a.user.Frozen {
				// The credential stays refused while the user is frozen (on
				// every node: Authenticate checked the user's version in
				// the store just now).
				// A browser is also told to forget its cookie, so its next
				// page is the login form, which refuses them too.
				if a.session != nil {
					s.setCookie(c, cookieSession, "", time.Time{}, true)
				}
				return engine.Errorf(engine.ELOCKED, engine.T("账号已冻结，请联系管理员", "this account is frozen; ask an administrator"))
			}
			// an anomaly rule asked for the second factor again: nothing
			// but proving it (or leaving) until then, on every node
			if a.user.NeedsReauth(a.verified) {
				if !reauthPaths[c.Request().URL.Path] {
					return engine.ErrReauth()
				}
				a.stale = true
			}
			c.Set(ctxAuth, a)
			if !reauthPaths[c.Request().URL.Path] {
				// not while proving the second factor again or leaving:
				// those requests write the credential themselves
				s.org.Touch(a.creds, s.touchFailed)
			}
			if a.user.MustChangePassword && !passwordChangePath(c.Request()) {
				return s.mustChangePassword(c)
			}
		}
		return next(c)
	}
}

// touchFailed logs a "last seen" write that failed: best effort, it costs
// the request nothing.
func (s *server) touchFailed(err error) { s.log.Warn("last seen not recorded", "err", err) }

// passwordChangePath reports whether r is one of the few requests a user
// whose password an administrator reset may still make: changing it,
// logging out, switching the language.
func passwordChangePath(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && (p == "/api/v1/account/password" || p == "/account/password" || p == "/api/v1/auth/logout" || p == "/logout"):
		return true
	case r.Method == http.MethodGet && (p == "/account" || strings.HasPrefix(p, "/lang/")):
		return true
	}
	return false
}

// mustChangePassword answers any other request of such a user: the API
// with a 403 problem (code password_change_required), a browser's page
// with the password form.
func (s *server) mustChangePassword(c echo.Context) error {
	if !isAPI(c) && c.Request().Method == http.MethodGet {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	return engine.ErrMustChangePassword()
}

// requireUser refuses anonymous API requests (401).
func (s *server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if authOf(c) == nil {
			return engine.Errorf(engine.EUNAUTHORIZED, engine.T("请先登录", "please log in"))
		}
		return next(c)
	}
}

// requireAdmin refuses non-administrators (403) and audits the denial.
func (s *server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := engine.RequireAdmin(principal(c)); err != nil {
			_ = s.svc.Audit(c.Request().Context(), principal(c), "admin."+strings.ToLower(c.Request().Method), "", "", c.Path(), engine.ResultDenied, "not an administrator")
			return err
		}
		return next(c)
	}
}

// requirePageUser sends anonymous browsers to the login page.
func (s *server) requirePageUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if authOf(c) == nil {
			if c.Request().Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/login?next="+urlEscape(c.Request().URL.RequestURI()))
			}
			return engine.Errorf(engine.EUNAUTHORIZED, engine.T("请先登录", "please log in"))
		}
		return next(c)
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// csrf requires the session's token on every state-changing request that
// a session cookie authenticates: in the X-CSRF-Token header (fetch) or
// the _csrf form field (plain forms). Bearer requests carry no cookie and
// need none. The login form, before any session, uses a double-submit
// cookie checked by its handler.
func (s *server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := authOf(c)
		if a == nil || a.session == nil || !unsafeMethod(c.Request().Method) {
			return next(c)
		}
		got := c.Request().Header.Get(headerCSRF)
		if got == "" && isFormPost(c) {
			got = c.FormValue(fieldCSRF)
		}
		if !sameToken(got, a.session.CSRF) {
			_ = s.svc.Audit(c.Request().Context(), principal(c), "csrf", "", "", c.Request().URL.Path, engine.ResultDenied, "missing or wrong CSRF token")
			return engine.Errorf(engine.EFORBIDDEN, engine.T("页面已过期或请求来源不明，请刷新后重试", "the page has expired or the request is not from it; reload and try again"))
		}
		return next(c)
	}
}

func isFormPost(c echo.Context) bool {
	ct := c.Request().Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// contentSecurityPolicy allows only the server's own scripts, styles and
// connections: the pages have no inline script or style.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func (s *server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.cfg.SecureCookies || s.overHTTPS(c) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// overHTTPS reports whether the browser reached us over HTTPS: directly
// (TLS), or through a proxy we trust (the connection comes from one of
// Config.TrustedProxies, as for the client address) that says so in
// X-Forwarded-Proto. Anyone else's header is ignored.
func (s *server) overHTTPS(c echo.Context) bool {
	r := c.Request()
	if r.TLS != nil {
		return true
	}
	return s.fromTrustedProxy(c) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// recoverer turns a panic into a 500 without leaking anything.
func (s *server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic", "path", c.Request().URL.Path, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = engine.Errorf(engine.EINTERNAL, engine.T("服务器内部错误", "internal error"))
			}
		}()
		return next(c)
	}
}

// apiLang is the language of API messages: Accept-Language.
func apiLang(c echo.Context) string {
	return web.PickLang("", c.Request().Header.Get("Accept-Language"))
}

// pageLang is the language of pages: the switch's cookie, else
// Accept-Language.
func pageLang(c echo.Context) string {
	ck := ""
	if k, err := c.Cookie(cookieLang); err == nil {
		ck = k.Value
	}
	return web.PickLang(ck, c.Request().Header.Get("Accept-Language"))
}

// page fills what every page's layout needs.
func (s *server) page(c echo.Context, title string) web.Page {
	p := web.Page{Lang: pageLang(c), Title: title, Path: c.Request().URL.RequestURI()}
	if a := authOf(c); a != nil {
		p.User = &web.UserInfo{Name: a.user.Name, Email: a.user.Email, Admin: a.user.Admin, Auditor: a.user.Auditor}
		p.Inbox = s.inboxCount(c)
		p.Unread = s.unreadCount(c)
		if a.session != nil {
			p.CSRF = a.session.CSRF
		}
	}
	return p
}

func (s *server) setCookie(c echo.Context, name, value string, expires time.Time, httpOnly bool) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: httpOnly, Secure: s.cfg.SecureCookies || s.overHTTPS(c), SameSite: http.SameSiteLaxMode}
	if !expires.IsZero() {
		ck.Expires = expires
	}
	if value == "" {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}
