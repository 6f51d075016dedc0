package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// bindFillRoutes binds what picking a record fills in (a relation's
// x-fill), for the API and the pages.
func (s *server) bindFillRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	e.GET("/api/v1/apps/:app/forms/:form/fill/:field", s.fill, user...)
	e.GET("/apps/:app/forms/:form/fill/:field", s.fill, page...)
}

// fill answers ?record=ID with {"values": {FIELD: {"value", "masked"}}}:
// the fields picking that record fills in, as the caller may see it. The
// engine decides what is shown and what a write stores; the page only
// shows it.
func (s *server) fill(c echo.Context) error {
	vals, err := s.svc.Fill(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("field"), c.QueryParam("record"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"values": vals})
}
