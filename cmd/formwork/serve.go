package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/totp"
	"formwork/engine/workflow"
	"formwork/exchange"
	"formwork/plugins/email"
	"formwork/plugins/webhook"
	"formwork/server"
)

// Deps are the running process's dependencies, built once and handed to
// the HTTP server and the workers.
type Deps struct {
	Store     engine.Store
	Queue     engine.Queue
	Org       *engine.Org
	Service   *engine.Service
	Workflows *workflow.Runtime
	Designer  *designer.Designer
	Clock     func() time.Time
	Log       *slog.Logger
	BackupDir string // where serve keeps its backups; "" when it takes none
	// BackupRuns takes and verifies backups from /admin/backups; nil with BackupDir "".
	BackupRuns *server.BackupRuns
	// Metrics receives the HTTP metrics; nil: none are kept.
	Metrics *prometheus.Registry
	metrics *procMetrics // the engine's and the queue's metrics, in Metrics (metrics.go)
	// Config is the HTTP server's configuration (see Process.serverConfig);
	// zero: the server's defaults with every rate limit off.
	Config server.Config
	// Limits holds the rate limits' counts; nil: in memory.
	Limits server.RateStore
}

// newDeps builds the engine services one process shares between its HTTP
// server and its workers: one Service with TOTP (engine/totp) for
// two-factor logins, the store's keyring and the organisation's time zone,
// the workflow runtime registered on it (as a record hook), and the
// notification and action plugins the settings configure (the webhook
// with its secret; email through the settings of /admin/mail, else the
// SMTP address and sender).
func newDeps(g *Globals, p *Process, store *engine.EncryptingStore, q engine.Queue, log *slog.Logger) *Deps {
	var m *procMetrics // nil without a metrics address: nothing would read them, so no call is timed
	if p.MetricsAddr != "" {
		m = newProcMetrics(log)
	}
	d := &Deps{Store: m.observeStore(store), Queue: q, Clock: time.Now, Log: log, Metrics: m.registry(), metrics: m, Config: p.serverConfig()}
	d.Org = engine.NewOrg(d.Store, time.Now)
	m.watchSessions(d.Org)
	d.Service = engine.NewService(d.Store, d.Org, engine.ServiceOptions{Clock: d.Clock, TOTP: totp.New(), Keys: store.Keyring(), TimeZone: g.zone(), Observer: m.engine(),
		MaxBlobSize: int64(p.UploadFileLimit)})
	if err := d.Service.EnsureAppIndexes(context.Background()); err != nil {
		log.Warn("app indexes and dashboard rollups", "err", err) // dashboards then read the records
	}
	reg := engine.NewPluginRegistry()
	var channels []string
	if url, secret := p.WebhookURL, p.WebhookSecret.value; url != "" && secret != "" {
		webhook.Register(reg, webhook.Options{Store: store, Secret: []byte(secret), URL: url})
		channels = append(channels, "webhook")
	}
	// email always listens: the SMTP server is what an administrator set on
	// /admin/mail, else FORMWORK_SMTP_ADDR with FORMWORK_SMTP_FROM; with
	// neither a notification's email job ends without sending
	email.Register(reg, email.Options{Settings: d.Service.MailConfig, Addr: p.SMTPAddr, From: p.SMTPFrom, Store: store})
	channels = append(channels, "email")
	d.Workflows = workflow.New(d.Service, d.Clock, workflow.Options{Plugins: reg, Channels: channels})
	d.Designer = designer.New(d.Service)
	return d
}

// queueConn is the queue a process uses: FORMWORK_REDIS_ADDR, or the
// embedded server when allowed.
type queueConn struct {
	opt      asynq.RedisConnOpt
	client   *queue.Client
	embedded *queue.Embedded // nil with an external Redis
}

func openQueue(role, addr string) (*queueConn, error) {
	q := &queueConn{}
	if addr != "" {
		opt, err := queue.ParseRedisAddr(addr)
		if err != nil {
			return nil, err
		}
		q.opt = opt
	} else {
		if role != roleAll {
			return nil, fmt.Errorf("role %s needs %s: the embedded queue lives inside the one process of role all, so separate web and worker processes share a Redis", role, envRedisAddr)
		}
		e, err := queue.StartEmbedded(queue.EmbeddedOptions{})
		if err != nil {
			return nil, err
		}
		q.embedded, q.opt = e, e.ConnOpt()
	}
	q.client = queue.NewClient(q.opt)
	return q, nil
}

func (q *queueConn) Close() {
	_ = q.client.Close()
	if q.embedded != nil {
		q.embedded.Close()
	}
}

// startBackground runs the worker and the outbox relay until ctx ends;
// stop waits for both to finish. A job still running at stop has
// shutdownTimeout to finish; after that asynq hands it back to the queue
// (and the outbox keeps it pending until a run completes), so it runs
// again later rather than being lost.
func startBackground(ctx context.Context, d *Deps, q *queueConn, p *Process) (stop func(), err error) {
	return runBackground(ctx, d, q, newWorker(d, q, p.ShutdownTimeout), engine.BlobGCOptions{MaxAge: p.UploadMaxAge, BinRetention: p.binRetention()})
}

// newWorker is the process's worker with every job's handler registered.
func newWorker(d *Deps, q *queueConn, shutdownTimeout time.Duration) *queue.Worker {
	w := queue.NewWorker(q.opt, d.Store, queue.WorkerOptions{Logger: d.Log, ShutdownTimeout: shutdownTimeout, Observe: d.metrics.jobDone()})
	registerHandlers(w, d)
	return w
}

// runBackground starts w, the scheduled upload collector and the outbox
// relay (see startBackground).
func runBackground(ctx context.Context, d *Deps, q *queueConn, w *queue.Worker, gc engine.BlobGCOptions) (stop func(), err error) {
	if err := w.Start(); err != nil {
		return nil, err
	}
	if d.Service != nil {
		// the upload collector (engine/blob_gc.go)
		if err := d.Service.ScheduleBlobGC(ctx, gc); err != nil {
			w.Shutdown()
			return nil, err
		}
	}
	r := queue.NewRelay(d.Store, q.client, queue.RelayOptions{Clock: d.Clock, Logger: d.Log, Observe: d.metrics.relayPass()})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(rctx)
	}()
	return func() {
		cancel()
		<-done
		w.Shutdown()
	}, nil
}

// registerHandlers registers every background job's handler; packages that
// define job types add theirs here.
func registerHandlers(w *queue.Worker, d *Deps) {
	if d.Workflows != nil {
		queue.Register(w, d.Workflows)
	}
	if d.Service != nil {
		w.Handle(engine.JobGrantExpire, d.Service.HandleGrantExpireJob)
		w.Handle(engine.JobSampleImport, d.Service.HandleSampleImportJob)
		w.Handle(engine.JobRecordImport, d.Service.HandleRecordImportJob)
		w.Handle(engine.JobReassign, d.Service.HandleReassignJob)
		w.Handle(engine.JobBlobGC, d.Service.HandleBlobGCJob)
		w.Handle(engine.JobRecordExport, exchange.NewExporter(d.Service).HandleExportJob)
		w.Handle(engine.JobExportExpire, d.Service.HandleExportExpireJob)
	}
}

// The roles of `formwork serve --role`.
const (
	roleAll    = "all"    // web, workers, relay and scheduled jobs in one process
	roleWeb    = "web"    // HTTP only; jobs go to the workers through Redis
	roleWorker = "worker" // workers, relay and scheduled jobs; no HTTP listener
)

// ServeCmd is `formwork serve`.
type ServeCmd struct {
	Role string `help:"What this process runs: all (web, workers, relay and scheduled jobs), web (HTTP only; needs FORMWORK_REDIS_ADDR) or worker (workers, relay and scheduled jobs; no HTTP listener)." enum:"all,web,worker" default:"all" env:"FORMWORK_ROLE"`
	Process
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func (c *ServeCmd) Run(g *Globals) error {
	return c.Process.run(g, c.Role)
}

// WorkerCmd is `formwork worker`, the same as `formwork serve --role worker`.
type WorkerCmd struct {
	Process
}

// Run runs the workers, the relay and the scheduled jobs until SIGINT or SIGTERM.
func (c *WorkerCmd) Run(g *Globals) error {
	return c.Process.run(g, roleWorker)
}

// run runs the parts of the product role names until SIGINT or SIGTERM,
// then shuts down gracefully: the web part stops accepting connections and
// drains the requests in flight, then the workers finish or hand back
// their jobs, each within the shutdown timeout.
func (c *Process) run(g *Globals, role string) error {
	web, work := role != roleWorker, role != roleWeb
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	log := g.newLogger(os.Stderr)
	defer tuneGC(int64(c.GCHeadroom))()

	// the queue first: a web or worker process without Redis is refused
	// before it opens (and migrates) the store
	q, err := openQueue(role, c.RedisAddr)
	if err != nil {
		return err
	}
	defer q.Close()
	store, closeStore, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeStore()
	d := newDeps(g, c, store, q.client, log)
	defer d.Service.Close()
	d.Limits = sharedLimits(q, log)
	// every role shows the queue's depth (one queue: aggregate with max),
	// so a deployment's web metrics alone tell whether jobs pile up
	d.metrics.watchQueue(q.client)

	var ln net.Listener
	if web {
		if ln, err = net.Listen("tcp", c.Addr); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		defer ln.Close()
	}
	stopBackground := func() {}
	if work {
		if stopBackground, err = startBackground(ctx, d, q, c); err != nil {
			return err
		}
	}
	defer func() { stopBackground() }()
	stopBackups, err := c.startBackups(ctx, g, d, work, log)
	if err != nil {
		return err
	}
	defer stopBackups()
	if c.MetricsAddr != "" {
		stopMetrics, err := startMetrics(c.MetricsAddr, d.Metrics, c.PprofToken.value, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if q.embedded != nil {
		log.Info("embedded queue", "addr", q.embedded.Addr())
	}
	var served <-chan error
	var srv *http.Server
	if web {
		srv = &http.Server{Handler: newHTTP(d), ReadHeaderTimeout: 10 * time.Second}
		served = serveHTTP(srv, server.WrapListener(ln), c.TLSCert, c.TLSKey)
		scheme := "http://"
		if c.TLSCert != "" {
			scheme = "https://"
		}
		log.Info("listening", "url", scheme+ln.Addr().String(), "role", role)
	} else {
		log.Info("worker running", "role", role)
	}

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	log.Info("shutting down", "role", role)
	// the requests drain while the workers finish, so the whole stop takes
	// at most the shutdown timeout (what a container's grace period allows)
	bgStopped := make(chan struct{})
	go func() { defer close(bgStopped); stopBackground() }()
	if srv != nil {
		if serr := drainHTTP(srv, c.ShutdownTimeout); serr != nil && err == nil {
			err = serr
		}
	}
	<-bgStopped
	stopBackground = func() {}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// startBackups sets up the backups of the embedded store: every process
// lists and takes them on demand (/admin/backups), only one that runs the
// workers (work) takes them on schedule. stop ends the schedule and waits
// for a backup under way.
func (c *Process) startBackups(ctx context.Context, g *Globals, d *Deps, work bool, log *slog.Logger) (stop func(), err error) {
	sched := newBackupSchedule(g, c, time.Now, log)
	if sched == nil {
		return func() {}, nil
	}
	d.BackupDir, d.BackupRuns = sched.dir, sched.runs()
	if !work {
		return func() {}, nil
	}
	d.metrics.watchBackups(sched)
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sched.run(bctx)
	}()
	return func() { cancel(); <-done }, nil
}

// serveHTTP serves srv on ln in the background, over TLS with a
// certificate and key file; the channel receives Serve's error when it
// returns.
func serveHTTP(srv *http.Server, ln net.Listener, certFile, keyFile string) <-chan error {
	served := make(chan error, 1)
	go func() {
		if certFile != "" {
			served <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		served <- srv.Serve(ln)
	}()
	return served
}

// drainHTTP stops srv accepting connections and waits up to timeout for
// the requests in flight to finish; those still running then are cut off.
func drainHTTP(srv *http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("http shutdown after %s: %w", timeout, err)
	}
	return nil
}
