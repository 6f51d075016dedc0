package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindPickerRoutes binds the picker's search for the API and the pages.
func (s *server) bindPickerRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	e.GET("/api/v1/apps/:app/forms/:form/pick/:field", s.pick, user...)
	e.GET("/apps/:app/forms/:form/pick/:field", s.pick, page...)
}

// pickItem is one choice as the picker endpoint answers it, in the
// caller's language.
type pickItem struct {
	Value string `json:"value"`
	Label string `json:"label"`
	Hint  string `json:"hint,omitempty"`
	Depth int    `json:"depth,omitempty"`
}

// pick answers a member, unit or relation field's search:
// ?q=TEXT&limit=N → {"items": [{value, label, hint}]}. The engine lists
// only what the caller may see (related records in their scope, redacted).
func (s *server) pick(c echo.Context) error {
	limit := 20
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 50 {
			return badRequest(engine.T("limit 须为 1 到 50 的整数", "limit must be a whole number from 1 to 50"),
				engine.FieldError{Field: "limit", Code: "range", Message: engine.T("limit 超出范围", "limit out of range")})
		}
		limit = n
	}
	items, err := s.svc.Pick(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("field"), c.QueryParam("q"), limit)
	if err != nil {
		return err
	}
	lang := pageLang(c)
	out := make([]pickItem, len(items))
	for i, it := range items {
		out[i] = pickItem{Value: it.Value, Label: it.Label.In(lang), Hint: it.Hint, Depth: it.Depth}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// pickedLabels returns the labels of the picker values in data (by field
// key) and, when the form has a unit field, the unit tree for its select.
// Labels are a courtesy: on any error the values show as they are.
func (s *server) pickedLabels(c echo.Context, fv *engine.FormView, data map[string]any) (map[string]string, []web.Option) {
	ctx := c.Request().Context()
	lang := pageLang(c)
	out := map[string]string{}
	var units []web.Option
	has := false
	for _, f := range fv.Fields {
		switch f.Field.Widget {
		case engine.WidgetMember, engine.WidgetRelation:
			has = true
		case engine.WidgetUnit:
			has = true
			if units == nil {
				items, err := s.svc.Pick(ctx, principal(c), fv.App, fv.Key, f.Field.Key, "", 50)
				if err == nil {
					units = []web.Option{}
					for _, it := range items {
						units = append(units, web.Option{Value: it.Value, Label: strings.Repeat("— ", it.Depth) + it.Label.In(lang)})
					}
				}
			}
		}
	}
	if !has {
		return out, nil
	}
	labels, err := s.svc.PickLabels(ctx, principal(c), fv.App, fv.Key, data)
	if err != nil {
		return out, units
	}
	for k, t := range labels {
		out[k] = t.In(lang)
	}
	return out, units
}
