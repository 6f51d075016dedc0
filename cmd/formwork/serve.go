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
	"strconv"
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
}

// envTimeZone names the organisation's time zone (IANA, e.g.
// Asia/Shanghai; default UTC): role policies' hours and the rules' `today`.
const envTimeZone = "FORMWORK_TIME_ZONE"

// orgTimeZone is the organisation's time zone (FORMWORK_TIME_ZONE; UTC
// when unset).
func orgTimeZone() (*time.Location, error) {
	name := os.Getenv(envTimeZone)
	if name == "" {
		return time.UTC, nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", envTimeZone, name, err)
	}
	return z, nil
}

// newDeps builds the engine services one process shares between its HTTP
// server and its workers: one Service with TOTP (engine/totp) for
// two-factor logins, the store's keyring and the organisation's time zone,
// the workflow runtime registered on it (as a record hook), and the
// notification and action plugins configured by the environment
// (FORMWORK_WEBHOOK_URL with FORMWORK_WEBHOOK_SECRET; email through the
// settings of /admin/mail, else FORMWORK_SMTP_ADDR with FORMWORK_SMTP_FROM).
func newDeps(store *engine.EncryptingStore, q engine.Queue, log *slog.Logger) (*Deps, error) {
	zone, err := orgTimeZone()
	if err != nil {
		return nil, err
	}
	d := &Deps{Store: store, Queue: q, Org: engine.NewOrg(store, time.Now), Clock: time.Now, Log: log}
	d.Service = engine.NewService(store, d.Org, engine.ServiceOptions{Clock: d.Clock, TOTP: totp.New(), Keys: store.Keyring(), TimeZone: zone})
	if err := d.Service.EnsureAppIndexes(context.Background()); err != nil {
		log.Warn("app indexes and dashboard rollups", "err", err) // dashboards then read the records
	}
	reg := engine.NewPluginRegistry()
	var channels []string
	if url, secret := os.Getenv("FORMWORK_WEBHOOK_URL"), os.Getenv("FORMWORK_WEBHOOK_SECRET"); url != "" && secret != "" {
		webhook.Register(reg, webhook.Options{Store: store, Secret: []byte(secret), URL: url})
		channels = append(channels, "webhook")
	}
	// email always listens: the SMTP server is what an administrator set on
	// /admin/mail, else FORMWORK_SMTP_ADDR with FORMWORK_SMTP_FROM; with
	// neither a notification's email job ends without sending
	email.Register(reg, email.Options{Settings: d.Service.MailConfig, Addr: os.Getenv("FORMWORK_SMTP_ADDR"), From: os.Getenv("FORMWORK_SMTP_FROM"), Store: store})
	channels = append(channels, "email")
	d.Workflows = workflow.New(d.Service, d.Clock, workflow.Options{Plugins: reg, Channels: channels})
	d.Designer = designer.New(d.Service)
	return d, nil
}

// queueConn is the queue a process uses: FORMWORK_REDIS_ADDR, or the
// embedded server when allowed.
type queueConn struct {
	opt      asynq.RedisConnOpt
	client   *queue.Client
	embedded *queue.Embedded // nil with an external Redis
}

func openQueue(embeddedOK bool) (*queueConn, error) {
	q := &queueConn{}
	if addr := os.Getenv(envRedisAddr); addr != "" {
		opt, err := queue.ParseRedisAddr(addr)
		if err != nil {
			return nil, err
		}
		q.opt = opt
	} else {
		if !embeddedOK {
			return nil, errors.New("the embedded queue lives inside `formwork serve`; set " + envRedisAddr + " to run separate workers")
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

// background runs the worker and the outbox relay until ctx ends; stop
// waits for both to finish.
func startBackground(ctx context.Context, d *Deps, q *queueConn) (stop func(), err error) {
	w := queue.NewWorker(q.opt, d.Store, queue.WorkerOptions{Logger: d.Log})
	registerHandlers(w, d)
	if err := w.Start(); err != nil {
		return nil, err
	}
	if d.Service != nil {
		// the upload collector (engine/blob_gc.go); FORMWORK_UPLOAD_MAX_AGE
		// (a Go duration, default 24h) is how long an unattached upload is kept
		maxAge, _ := time.ParseDuration(os.Getenv("FORMWORK_UPLOAD_MAX_AGE"))
		if err := d.Service.ScheduleBlobGC(ctx, engine.BlobGCOptions{MaxAge: maxAge, BinRetention: binRetention()}); err != nil {
			w.Shutdown()
			return nil, err
		}
	}
	r := queue.NewRelay(d.Store, q.client, queue.RelayOptions{Clock: d.Clock, Logger: d.Log})
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

// binRetention is FORMWORK_BIN_RETENTION_DAYS: records in a recycle bin
// longer are purged by the hourly upload collector; unset or 0 keeps them
// until an administrator purges them.
func binRetention() time.Duration {
	n, err := strconv.Atoi(os.Getenv("FORMWORK_BIN_RETENTION_DAYS"))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * 24 * time.Hour
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

// ServeCmd is `formwork serve`.
type ServeCmd struct {
	Addr        string `help:"Address to listen on." default:"127.0.0.1:8080"`
	MetricsAddr string `help:"Address of /metrics (Prometheus) and, with FORMWORK_PPROF_TOKEN, /debug/pprof/; empty: not served." env:"FORMWORK_METRICS_ADDR"`
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func (c *ServeCmd) Run(g *Globals) error {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	log := newLogger(os.Stderr)

	store, closeStore, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeStore()
	q, err := openQueue(true)
	if err != nil {
		return err
	}
	defer q.Close()
	d, err := newDeps(store, q.client, log)
	if err != nil {
		return err
	}
	defer d.Service.Close()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stopBackground, err := startBackground(ctx, d, q)
	if err != nil {
		ln.Close()
		return err
	}
	sched, err := newBackupSchedule(g, os.Getenv, time.Now, log)
	if err != nil {
		stopBackground()
		ln.Close()
		return err
	}
	if sched != nil {
		d.BackupDir, d.BackupRuns = sched.dir, sched.runs()
	}
	bctx, stopBackups := context.WithCancel(ctx)
	defer stopBackups()
	backupsDone := make(chan struct{})
	go func() {
		defer close(backupsDone)
		if sched != nil {
			sched.run(bctx)
		}
	}()
	if c.MetricsAddr != "" {
		mln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			stopBackground()
			ln.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
		d.Metrics = newMetricsRegistry()
		msrv := metricsServer(mln, d.Metrics)
		defer msrv.Close()
		log.Info("metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	srv := &http.Server{Handler: newHTTP(d), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if q.embedded != nil {
		log.Info("embedded queue", "addr", q.embedded.Addr())
	}
	log.Info("listening", "url", "http://"+ln.Addr().String())

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("http shutdown: %w", serr)
	}
	stopBackground()
	stopBackups()
	<-backupsDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// WorkerCmd is `formwork worker`.
type WorkerCmd struct{}

// Run runs the workers and the relay until SIGINT or SIGTERM.
func (c *WorkerCmd) Run(g *Globals) error {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	log := newLogger(os.Stderr)
	q, err := openQueue(false)
	if err != nil {
		return err
	}
	defer q.Close()
	store, closeStore, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeStore()
	d, err := newDeps(store, q.client, log)
	if err != nil {
		return err
	}
	defer d.Service.Close()
	stop, err := startBackground(ctx, d, q)
	if err != nil {
		return err
	}
	log.Info("worker running")
	<-ctx.Done()
	log.Info("shutting down")
	stop()
	return nil
}
