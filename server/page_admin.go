package server

import "github.com/labstack/echo/v4"

// adminPageRoutes registers the admin pages (units, users, role
// assignments, grants, explain) under /admin.
func (s *server) adminPageRoutes(e *echo.Echo) {}
