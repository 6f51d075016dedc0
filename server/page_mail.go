package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindMailRoutes binds the mail settings (administrators; the engine
// checks): the API under /api/v1/settings/mail and the page /admin/mail,
// each with a test mail.
func (s *server) bindMailRoutes(e *echo.Echo, admin, adminPage []echo.MiddlewareFunc) {
	e.GET("/api/v1/settings/mail", s.getMailSettings, admin...)
	e.PUT("/api/v1/settings/mail", s.putMailSettings, admin...)
	e.POST("/api/v1/settings/mail/test", s.testMail, admin...)
	e.GET("/admin/mail", s.mailPage, adminPage...)
	e.POST("/admin/mail", s.mailSave, adminPage...)
	e.POST("/admin/mail/test", s.mailTestSubmit, adminPage...)
}

// getMailSettings: → the stored settings without the password, or
// {"stored": false} when the environment applies.
func (s *server) getMailSettings(c echo.Context) error {
	m, err := s.svc.MailSettings(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	if m == nil {
		return c.JSON(http.StatusOK, map[string]any{"stored": false})
	}
	return c.JSON(http.StatusOK, mailJSON{MailSettings: m, Stored: true})
}

type mailJSON struct {
	*engine.MailSettings
	Stored bool `json:"stored"`
}

// putMailSettings: {"host", "port", "security", "username"?, "password"?,
// "clear_password"?, "from"} → 200 the settings; 422 with field errors.
func (s *server) putMailSettings(c echo.Context) error {
	var in engine.MailSettings
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := s.svc.SetMailSettings(c.Request().Context(), principal(c), &in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, mailJSON{MailSettings: m, Stored: true})
}

// testMail sends a test mail to the caller → 204, or 503 saying why.
func (s *server) testMail(c echo.Context) error {
	if err := s.svc.TestMail(c.Request().Context(), principal(c), s.mailPlugin(), apiLang(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// mailPlugin is the email channel cmd/formwork registered, or nil.
func (s *server) mailPlugin() engine.Plugin {
	if s.wf == nil {
		return nil
	}
	return s.wf.Plugins().Get("email")
}

func (s *server) mailPage(c echo.Context) error {
	return s.renderMail(c, http.StatusOK, nil, nil)
}

// renderMail shows the settings: the refused form when given (with err's
// messages), else the stored ones.
func (s *server) renderMail(c echo.Context, status int, refused *web.MailForm, err error) error {
	ctx, p := c.Request().Context(), principal(c)
	pg, nav := s.adminPage(c, "mail.title", "mail")
	v := web.MailPage{Page: pg, AdminNav: nav, TestTo: p.User.Email, Errors: map[string]string{}}
	switch {
	case c.QueryParam("saved") != "":
		v.Flash = web.Msg(pg.Lang, "mail.saved")
	case c.QueryParam("sent") != "":
		v.Flash = web.Msg(pg.Lang, "mail.test.sent")
	}
	m, rerr := s.svc.MailSettings(ctx, p)
	if rerr != nil {
		return rerr
	}
	v.Form = web.MailForm{Security: engine.MailStartTLS, Port: "587"}
	if m != nil {
		v.Stored = true
		v.Form = web.MailForm{Host: m.Host, Port: strconv.Itoa(m.Port), Security: m.Security, Username: m.Username, From: m.From, PasswordSet: m.PasswordSet}
		if m.UpdatedAt != nil {
			v.UpdatedBy = s.actorNames(c)(m.UpdatedBy) + " · " + m.UpdatedAt.In(s.svc.TimeZone()).Format("2006-01-02 15:04")
		}
	}
	if refused != nil {
		refused.PasswordSet = v.Form.PasswordSet
		v.Form = *refused
	}
	if err != nil {
		v.Error = engine.ErrorMessage(err, pg.Lang)
		for _, fe := range engine.ErrorFields(err) {
			v.Errors[strings.TrimPrefix(fe.Field, "/")] = fe.Message.In(pg.Lang)
		}
	}
	return Render(c, status, web.MailView(v))
}

func (s *server) mailSave(c echo.Context) error {
	f := web.MailForm{Host: strings.TrimSpace(c.FormValue("host")), Port: strings.TrimSpace(c.FormValue("port")), Security: c.FormValue("security"),
		Username: strings.TrimSpace(c.FormValue("username")), From: strings.TrimSpace(c.FormValue("from"))}
	in := &engine.MailSettings{Host: f.Host, Security: f.Security, Username: f.Username, Password: c.FormValue("password"),
		ClearPass: c.FormValue("clear_password") != "", From: f.From}
	in.Port, _ = strconv.Atoi(f.Port) // not a number: 0, refused with the port's message
	if _, err := s.svc.SetMailSettings(c.Request().Context(), principal(c), in); err != nil {
		if !formError(err) {
			return err
		}
		return s.renderMail(c, statusOf(engine.ErrorCode(err)), &f, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/mail?saved=1")
}

func (s *server) mailTestSubmit(c echo.Context) error {
	if err := s.svc.TestMail(c.Request().Context(), principal(c), s.mailPlugin(), pageLang(c)); err != nil {
		code := engine.ErrorCode(err)
		if code != engine.EUNAVAILABLE && !formError(err) {
			return err
		}
		return s.renderMail(c, statusOf(code), nil, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/mail?sent=1")
}
