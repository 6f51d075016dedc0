package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindViewRoutes binds the saved list views: the JSON API and the list
// page's forms that save, rename and delete them.
func (s *server) bindViewRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	const base = "/api/v1/apps/:app/forms/:form/views"
	e.GET(base, s.listViews, user...)
	e.POST(base, s.saveView, user...)
	e.PATCH(base+"/:id", s.updateView, user...)
	e.DELETE(base+"/:id", s.deleteView, user...)

	const pages = "/apps/:app/forms/:form/views"
	e.POST(pages, s.viewSaveSubmit, page...)
	e.POST(pages+"/:id", s.viewUpdateSubmit, page...)
	e.POST(pages+"/:id/delete", s.viewDeleteSubmit, page...)
}

// listViews answers {"items": [view…]}: the bundle's views, the caller's
// own and those shared with the caller's unit.
func (s *server) listViews(c echo.Context) error {
	items, err := s.svc.ListViews(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// saveView: {"name", "columns"?, "filter"?, "match"?, "search"?, "sort"?, "shared"?} → 201 the view.
func (s *server) saveView(c echo.Context) error {
	var in engine.ViewInput
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Filter) > 0 {
		if err := checkDepth(in.Filter, s.cfg.MaxDepth); err != nil {
			return err
		}
	}
	v, err := s.svc.SaveView(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

// viewPatch is what PATCH of a view may change.
type viewPatch struct {
	Name   string `json:"name"`
	Shared *bool  `json:"shared"`
}

// updateView: {"name"?, "shared"?} renames or (un)shares a view the caller saved.
func (s *server) updateView(c echo.Context) error {
	var in viewPatch
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.svc.RenameView(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), in.Name, in.Shared)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) deleteView(c echo.Context) error {
	if err := s.svc.DeleteView(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
