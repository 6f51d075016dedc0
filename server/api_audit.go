package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAuditRoutes binds reading and verifying the audit log.
func (s *server) bindAuditRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/audit", s.listAudit, user...)
	e.GET(v1+"/audit/verify", s.verifyAudit, user...)
}

// listAudit reads the audit log: ?actor=EMAIL|ID&action=&app=&form=&record=&result=&ip=&from=&to=&limit=&cursor=.
func (s *server) listAudit(c echo.Context) error {
	q, _, err := s.auditQueryOf(c)
	if err != nil {
		return err
	}
	page, err := s.svc.AuditEvents(c.Request().Context(), principal(c), q)
	if err != nil {
		return err
	}
	items := page.Items
	if items == nil {
		items = []*engine.AuditEvent{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": page.NextCursor})
}

// verifyAudit walks the chain: {"ok": true, "events": N} or
// {"ok": false, "events": N, "first_bad": {"seq", "reason"}}.
func (s *server) verifyAudit(c echo.Context) error {
	n, brk, err := s.svc.VerifyAudit(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	if brk != nil {
		return c.JSON(http.StatusOK, map[string]any{"ok": false, "events": n, "first_bad": brk})
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "events": n})
}
