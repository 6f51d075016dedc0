package main

import (
	"context"
	"os"
	"strings"

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
		Config: serverConfig(), Backups: backups, BackupRuns: d.BackupRuns, Metrics: metricsOf(d), Limits: d.Limits})
}

// serverConfig is the server's defaults with the settings read from the
// environment here.
func serverConfig() server.Config {
	c := server.DefaultConfig()
	c.BinRetention = binRetention()
	// FORMWORK_PUBLIC_URL is the address public form links and their QR
	// codes start with (https://forms.example.com), when the server is
	// reached through another name than the one staff use
	c.PublicURL = os.Getenv("FORMWORK_PUBLIC_URL")
	// Served at an https:// address, every cookie is Secure and pages send
	// HSTS whatever the proxy says; FORMWORK_TRUST_PROXY=1 takes the client
	// address from X-Forwarded-For and HTTPS from X-Forwarded-Proto when the
	// connection comes from a loopback or private address (the proxy).
	c.SecureCookies = strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
	c.TrustProxy = os.Getenv("FORMWORK_TRUST_PROXY") == "1"
	return c
}

// metricsOf is where the HTTP server registers its metrics (a nil
// interface, not a nil registry, when there is none).
func metricsOf(d *Deps) prometheus.Registerer {
	if d.Metrics == nil {
		return nil
	}
	return d.Metrics
}
