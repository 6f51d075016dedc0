package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"formwork/engine/workflow"
	"formwork/web"
)

// bindNotificationRoutes binds the bell's count, one notification marked
// read in the API, and the /notifications page with its actions. The
// runtime checks every notification is the caller's.
func (s *server) bindNotificationRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	e.GET("/api/v1/notifications/count", s.notificationCount, user...)
	e.POST("/api/v1/notifications/:id/read", s.readNotification, user...)
	e.GET("/notifications", s.notificationsPage, page...)
	e.GET("/notifications/:id/open", s.openNotificationPage, page...)
	e.POST("/notifications/:id/read", s.readNotificationPage, page...)
	e.POST("/notifications/read", s.readAllNotificationsPage, page...)
}

// notificationCount: → {"unread", "tasks"} for the bell and the tasks
// badge, which every page polls: without the workflow runtime there are
// none of either, so it answers zeros rather than 503.
func (s *server) notificationCount(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	w, ctx, p := s.wf, c.Request().Context(), principal(c)
	if w == nil {
		return c.JSON(http.StatusOK, map[string]int{"unread": 0, "tasks": 0})
	}
	unread, err := w.UnreadCount(ctx, p)
	if err != nil {
		return err
	}
	tasks, err := w.OpenTaskCount(ctx, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"unread": unread, "tasks": tasks})
}

// readNotification: POST /notifications/{id}/read → 204; 404 when it is
// not the caller's.
func (s *server) readNotification(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	if _, err := w.ReadNotification(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// unreadCount is the signed-in user's unread notifications, for the bell
// (0 when workflows are off or the count fails: the page still renders).
func (s *server) unreadCount(c echo.Context) int {
	p := principal(c)
	if s.wf == nil || p.User == nil {
		return 0
	}
	n, err := s.wf.UnreadCount(c.Request().Context(), p)
	if err != nil {
		s.log.Warn("unread count", "err", err)
		return 0
	}
	return n
}

func (s *server) notificationsPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	ctx, p, lang := c.Request().Context(), principal(c), pageLang(c)
	items, err := w.Notifications(ctx, p, false, 100)
	if err != nil {
		return err
	}
	v := web.NotificationsPage{Page: s.page(c, web.Msg(lang, "notify.title"))}
	switch {
	case c.QueryParam("read") == "all":
		v.Flash = web.Msg(lang, "notify.done_all")
	case c.QueryParam("read") != "":
		v.Flash = web.Msg(lang, "notify.done")
	}
	zone := s.svc.TimeZone()
	forms := formTitles{s: s, ctx: ctx, lang: lang}
	for _, n := range items {
		kind := n.Kind
		if web.Msg(lang, "notify.kind."+kind) == "notify.kind."+kind {
			kind = "other"
		}
		v.Items = append(v.Items, web.NotificationItem{ID: n.ID, Kind: kind, Title: n.Title.In(lang), About: forms.of(n.App, n.Form),
			At: n.CreatedAt.In(zone).Format("2006-01-02 15:04"), OpenURL: "/notifications/" + url.PathEscape(n.ID) + "/open", Read: n.Read})
	}
	return Render(c, http.StatusOK, web.NotificationsView(v))
}

// formTitles names the forms notifications are about, each bundle read once.
type formTitles struct {
	s     *server
	ctx   context.Context
	lang  string
	cache map[string]string
}

func (f *formTitles) of(app, form string) string {
	if app == "" || form == "" {
		return ""
	}
	k := app + "/" + form
	if t, ok := f.cache[k]; ok {
		return t
	}
	if f.cache == nil {
		f.cache = map[string]string{}
	}
	t := ""
	if b, _, err := f.s.svc.Bundle(f.ctx, app, 0); err == nil {
		t = b.App.Name.In(f.lang)
		if fm := b.Form(form); fm != nil {
			t += " · " + fm.Title.In(f.lang)
		}
	}
	f.cache[k] = t
	return t
}

// notificationTarget is the page a notification is about: the task for
// an approval step, the record for a CC or a result, the alerts for an
// alert.
func notificationTarget(n *workflow.Notification) string {
	switch {
	case n.Task != "":
		return taskURL(n.Task)
	case n.Record != "" && n.App != "" && n.Form != "":
		return recordPageURL(n.App, n.Form, n.Record)
	case n.Kind == "alert":
		return "/admin/alerts"
	}
	return "/notifications"
}

// openNotificationPage marks the notification read and opens what it is
// about.
func (s *server) openNotificationPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	n, err := w.ReadNotification(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, notificationTarget(n))
}

func (s *server) readNotificationPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	if _, err := w.ReadNotification(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/notifications?read=1")
}

func (s *server) readAllNotificationsPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	if err := w.MarkRead(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/notifications?read=all")
}

// rememberLang records the language a user reads the pages in, so mail to
// them is in it; a failure only costs that, so it is logged.
func (s *server) rememberLang(c echo.Context, user, lang string) {
	if err := s.org.SetUserLang(c.Request().Context(), user, lang); err != nil {
		s.log.Warn("remember language", "err", err)
	}
}
