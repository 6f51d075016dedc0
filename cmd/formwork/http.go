package main

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// newHTTP builds the HTTP server. For now it serves the health endpoints;
// the full API moves to package server (server.New(deps)).
func newHTTP(d *Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := d.Store.Ping(ctx); err != nil {
			d.Log.Warn("readyz: store", "err", err)
			return problem(c, http.StatusServiceUnavailable, "Not ready", "the store is not reachable")
		}
		if err := d.Queue.Ping(ctx); err != nil {
			d.Log.Warn("readyz: queue", "err", err)
			return problem(c, http.StatusServiceUnavailable, "Not ready", "the queue is not reachable")
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	return e
}

// problem writes an RFC 9457 problem+json response.
func problem(c echo.Context, status int, title, detail string) error {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(status, map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
