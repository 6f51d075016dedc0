package main

import (
	"context"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"formwork/engine"
	"formwork/engine/totp"
	"formwork/server"
)

// newHTTP builds the HTTP server: the JSON API and the staff pages of
// package server, on an engine.Service over the process's store. The
// service lives as long as the process; its audit writer only batches
// events that each request already waits for, so nothing is pending when
// the server has shut down.
func newHTTP(d *Deps) *echo.Echo {
	svc := d.Service
	if svc == nil {
		svc = engine.NewService(d.Store, d.Org, engine.ServiceOptions{Clock: d.Clock, TOTP: totp.New()})
	}
	var ping func(context.Context) error
	if d.Queue != nil {
		ping = d.Queue.Ping
	}
	var backups func() ([]server.BackupFile, error)
	if d.BackupDir != "" {
		backups = func() ([]server.BackupFile, error) { return listBackups(d.BackupDir) }
	}
	return server.New(server.Deps{Store: d.Store, Org: d.Org, Service: svc, Workflows: d.Workflows, Designer: d.Designer, QueuePing: ping, Clock: d.Clock, Log: d.Log,
		Config: d.Config, Backups: backups, BackupRuns: d.BackupRuns, Metrics: metricsOf(d), Limits: d.Limits})
}

// metricsOf is where the HTTP server registers its metrics (a nil
// interface, not a nil registry, when there is none).
func metricsOf(d *Deps) prometheus.Registerer {
	if d.Metrics == nil {
		return nil
	}
	return d.Metrics
}
