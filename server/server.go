// Package server is the echo application: the JSON API of API.md under
// /api/v1, the staff pages, and the middleware around both —
// authentication (session cookies for browsers, bearer tokens for
// scripts), CSRF, rate limits, security headers, hostile-body defences —
// and the one mapping from engine error codes to HTTP statuses.
//
// Every read and write of app data goes through engine.Service, which
// enforces permissions and writes the audit events; this package adds the
// audit events of logins, logouts and page views.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/web"
)

// RateLimit is a token bucket: PerSecond steady requests with Burst.
// A zero PerSecond disables the limit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// Config tunes the server. Zero fields take the defaults of DefaultConfig.
type Config struct {
	BodyLimit        int64         // JSON and form bodies (413 above)
	UploadLimit      int64         // multipart bodies (file uploads; 413 above); each file is also held to the service's MaxBlobSize
	BundleLimit      int64         // POST /api/v1/apps
	MaxDepth         int           // JSON nesting depth (400 above)
	SessionTTL       time.Duration // browser sessions and login tokens
	LockoutThreshold int           // failed logins before a lock
	LockoutDuration  time.Duration
	RateIP           RateLimit // every request, per client address
	RateUser         RateLimit // every authenticated request, per user
	RateLogin        RateLimit // login attempts, per client address
	RatePublic       RateLimit // public form submissions (/f/TOKEN), per client address
	PublicURL        string    // the address public form links and their QR codes start with ("" = the request's scheme and host)
	SecureCookies    bool      // set Secure on cookies and send HSTS (served over HTTPS)
	// TrustedProxies are the reverse proxies' ranges: only a connection from
	// one has its X-Forwarded-For (client address), X-Forwarded-Proto (HTTPS)
	// and X-Request-Id believed; nil believes no one (PrivateRanges: the
	// loopback, private and link-local ranges).
	TrustedProxies []netip.Prefix
	BinRetention   time.Duration // how long deleted records stay in a recycle bin (0: until purged), shown on the bin page
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		BodyLimit:        1 << 20,
		UploadLimit:      multipartLimit,
		BundleLimit:      8 << 20,
		MaxDepth:         32,
		SessionTTL:       12 * time.Hour,
		LockoutThreshold: 5,
		LockoutDuration:  15 * time.Minute,
		RateIP:           RateLimit{PerSecond: 50, Burst: 200},
		RateUser:         RateLimit{PerSecond: 30, Burst: 120},
		RateLogin:        RateLimit{PerSecond: 0.5, Burst: 10},
		RatePublic:       RateLimit{PerSecond: 0.1, Burst: 10},
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BodyLimit <= 0 {
		c.BodyLimit = d.BodyLimit
	}
	if c.UploadLimit <= 0 {
		c.UploadLimit = d.UploadLimit
	}
	if c.BundleLimit <= 0 {
		c.BundleLimit = d.BundleLimit
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = d.MaxDepth
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.LockoutThreshold <= 0 {
		c.LockoutThreshold = d.LockoutThreshold
	}
	if c.LockoutDuration <= 0 {
		c.LockoutDuration = d.LockoutDuration
	}
	return c
}

// Deps is what the server runs on.
type Deps struct {
	Store     engine.Store
	Org       *engine.Org
	Service   *engine.Service
	Workflows *workflow.Runtime           // nil: workflows are not enabled
	Designer  *designer.Designer          // nil: the designer is not enabled
	QueuePing func(context.Context) error // nil: no queue to check
	Clock     func() time.Time            // nil: time.Now
	Config    Config
	Log       *slog.Logger // nil: slog.Default()
	// Backups lists the backups the process takes, newest first; nil: it
	// takes none (/admin/backups says so).
	Backups func() ([]BackupFile, error)
	// BackupRuns takes and verifies backups from /admin/backups; nil: the
	// page only lists them.
	BackupRuns *BackupRuns
	// Metrics is where the HTTP metrics are registered (served by cmd on
	// its own address); nil: none are kept.
	Metrics prometheus.Registerer
	// Limits keeps the rate limits' counts, shared by every node (Redis);
	// nil: this process counts in memory.
	Limits RateStore
}

// server holds the dependencies the handlers share.
type server struct {
	metrics   *httpMetrics
	store     engine.Store
	org       *engine.Org
	svc       *engine.Service
	wf        *workflow.Runtime
	designer  *designer.Designer
	queuePing func(context.Context) error
	now       func() time.Time
	cfg       Config
	log       *slog.Logger
	backups   func() ([]BackupFile, error)
	runs      *backupJobs
	// importSlots bounds the uploads read into a table at once (readImport)
	importSlots engine.Slots
	rates       *rates
	ipLimit     limit
	userLimit   limit
	login       limit
	public      limit
}

// New returns the echo application with every route of the JSON API and
// the staff pages.
func New(d Deps) *echo.Echo {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	cfg := d.Config.withDefaults()
	s := &server{store: d.Store, org: d.Org, svc: d.Service, wf: d.Workflows, designer: d.Designer, queuePing: d.QueuePing, now: d.Clock, cfg: cfg, log: d.Log, backups: d.Backups,
		rates: newRates(d.Limits, d.Clock, d.Log), ipLimit: limit{"ip", cfg.RateIP}, userLimit: limit{"user", cfg.RateUser}, login: limit{"login", cfg.RateLogin},
		public: limit{"public", cfg.RatePublic}}
	s.runs = newBackupJobs(d.BackupRuns)
	s.importSlots = engine.NewSlots(importReaders)
	s.metrics = newHTTPMetrics(d.Metrics)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Pre(headAsGet)
	e.Use(s.requestID, s.accessLog, s.recoverer, s.securityHeaders, s.limitBody, s.rateLimitIP, s.authenticate, s.rateLimitUser, s.csrf)
	s.routes(e)
	return e
}

// routes binds every area's routes; each area binds its own in the file
// that holds its handlers.
func (s *server) routes(e *echo.Echo) {
	// Middleware is given per route, not per group: echo answers unknown
	// paths under a group with middleware through that middleware, which
	// would send a browser's /favicon.ico to the login page.
	user := []echo.MiddlewareFunc{s.requireUser}
	admin := []echo.MiddlewareFunc{s.requireUser, s.requireAdmin}
	page := []echo.MiddlewareFunc{s.requirePageUser}
	adminPage := []echo.MiddlewareFunc{s.requirePageUser, s.requireAdmin}

	s.bindBaseRoutes(e)
	s.bindOpenAPIRoutes(e)
	s.bindAuthRoutes(e, user)
	s.bindReauthRoutes(e, user, page)
	s.bindBackupPages(e, adminPage)
	s.bindOrgRoutes(e, user, admin)
	s.bindAppRoutes(e, user)
	s.bindRecordRoutes(e, user)
	s.bindUploadRoutes(e, user, page)
	s.bindImportRoutes(e, user, page)
	s.bindPickerRoutes(e, user, page)
	s.bindFillRoutes(e, user, page)
	s.bindAuditRoutes(e, user)
	s.bindWorkflowRoutes(e, user)
	s.bindAccessRoutes(e, user)
	s.bindTemplateRoutes(e, admin, adminPage)
	s.bindDesignerRoutes(e, user)
	s.bindExportRoutes(e, user)
	s.bindAlertRoutes(e, user)
	s.bindDashboardRoutes(e, user)
	s.bindPublicRoutes(e, user, page)
	s.bindViewRoutes(e, user, page)
	s.bindNotificationRoutes(e, user, page)
	s.bindMailRoutes(e, admin, adminPage)
	s.bindAccountRoutes(e, user, page, adminPage)

	s.bindLoginPages(e, page)
	s.bindRecordPages(e, page)
	s.bindAdminPages(e, adminPage)
	s.bindAuditPages(e, page)
	s.bindAlertPages(e, page)
	s.bindBinPages(e, page, user)
	s.bindTaskPages(e, page)
	s.bindDesignerPages(e, page)
	s.bindDesignerDashboardPages(e, page)
	s.bindExportPages(e, page)
	s.bindDashboardPages(e, page)
}

// bindBaseRoutes binds the probes and the static files, which need no user.
func (s *server) bindBaseRoutes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/favicon.ico", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler())))
}

// Render writes a templ component as an HTML response with status.
func Render(c echo.Context, status int, t templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := t.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func staticHandler() http.Handler {
	fs := http.FileServerFS(web.Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}

// isAPI reports whether a request wants JSON answers (and problem+json
// errors) rather than pages.
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	if strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" {
		return true
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readyz: store", "err", err)
		return &engine.Error{Code: engine.EUNAVAILABLE, Message: engine.T("存储不可用", "the store is not reachable"), Err: err}
	}
	if s.queuePing != nil {
		if err := s.queuePing(ctx); err != nil {
			s.log.Warn("readyz: queue", "err", err)
			return &engine.Error{Code: engine.EUNAVAILABLE, Message: engine.T("队列不可用", "the queue is not reachable"), Err: err}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
