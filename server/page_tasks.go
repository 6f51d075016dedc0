package server

import (
	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// taskPageRoutes registers the approver's pages: the inbox of tasks and
// a task's page.
func (s *server) taskPageRoutes(e *echo.Echo) {}

// inboxCount is the number of open tasks the signed-in user holds, for
// the badge in the top bar.
func (s *server) inboxCount(c echo.Context) int { return 0 }

// recordFlowPanel is the workflow section of a record's page (timeline
// and the viewer's open task actions), or nil when there is nothing to show.
func (s *server) recordFlowPanel(c echo.Context, app, form, id string) templ.Component {
	return nil
}
