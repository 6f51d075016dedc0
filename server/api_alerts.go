package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindAlertRoutes binds the anomaly alerts and their rules; the engine
// decides who may (administrators and auditors read, administrators change).
func (s *server) bindAlertRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/alerts", s.listAlerts, user...)
	e.POST(v1+"/alerts/:id/acknowledge", s.acknowledgeAlert, user...)
	e.POST(v1+"/alerts/:id/resolve", s.resolveAlert, user...)
	e.GET(v1+"/settings/anomaly", s.getAnomalySettings, user...)
	e.PUT(v1+"/settings/anomaly", s.putAnomalySettings, user...)
}

// listAlerts answers {"items": [alert…]}; ?status=open|acknowledged|resolved.
// Each detail is in the request's language (message holds both).
func (s *server) listAlerts(c echo.Context) error {
	items, err := s.svc.Alerts(c.Request().Context(), principal(c), c.QueryParam("status"))
	if err != nil {
		return err
	}
	for _, a := range items {
		a.Detail = a.DetailIn(apiLang(c))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *server) acknowledgeAlert(c echo.Context) error {
	return s.setAlertStatus(c, engine.AlertAcknowledged)
}

func (s *server) resolveAlert(c echo.Context) error { return s.setAlertStatus(c, engine.AlertResolved) }

// setAlertStatus acknowledges or resolves one alert and answers it.
func (s *server) setAlertStatus(c echo.Context, status string) error {
	a, err := s.svc.SetAlertStatus(c.Request().Context(), principal(c), c.Param("id"), status)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *server) getAnomalySettings(c echo.Context) error {
	a, err := s.svc.AnomalySettings(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *server) putAnomalySettings(c echo.Context) error {
	var body engine.AnomalySettings
	if err := s.decodeJSON(c, &body); err != nil {
		return err
	}
	a, err := s.svc.SetAnomalySettings(c.Request().Context(), principal(c), &body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}
