package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAuditRoutes binds reading and verifying the audit log.
func (s *server) bindAuditRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/audit", s.listAudit, user...)
	e.GET(v1+"/audit/verify", s.verifyAudit, user...)
}

// listAudit reads the audit log: ?actor=EMAIL|ID&action=&from=&to=&limit=&cursor=.
func (s *server) listAudit(c echo.Context) error {
	q := engine.AuditQuery{Action: c.QueryParam("action"), Object: c.QueryParam("object"), Cursor: c.QueryParam("cursor")}
	ctx := c.Request().Context()
	if a := c.QueryParam("actor"); a != "" {
		q.Actor = a
		if strings.Contains(a, "@") {
			u, err := s.org.FindUserByEmail(ctx, a)
			switch {
			case err == nil:
				q.Actor = u.ID
			case engine.ErrorCode(err) == engine.ENOTFOUND:
				q.Actor = "unknown:" + a // matches no event
			default:
				return err
			}
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest(engine.Tf("%s 须为 RFC 3339 时间", "%s must be an RFC 3339 time", p.name))
			}
			*p.dst = t
		}
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest(engine.T("limit 须为 1 到 1000 的整数", "limit must be a whole number from 1 to 1000"))
		}
		q.Limit = n
	}
	page, err := s.svc.AuditEvents(ctx, principal(c), q)
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
