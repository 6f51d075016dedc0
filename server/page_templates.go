package server

import "github.com/labstack/echo/v4"

// templatePageRoutes registers the template gallery (模板中心).
func (s *server) templatePageRoutes(e *echo.Echo) {}
