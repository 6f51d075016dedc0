package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"formwork/engine"
	"formwork/engine/backup"
	"formwork/engine/queue"
)

// newMetricsRegistry is the process's Prometheus registry: Go runtime and
// process metrics, and whatever the HTTP server registers.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// startMetrics serves the registry on addr (see metricsServer) until the
// returned stop is called; both serve and worker call it.
func startMetrics(addr string, reg *prometheus.Registry, pprofToken string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	srv := metricsServer(ln, reg, pprofToken)
	log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { _ = srv.Close() }, nil
}

// metricsServer serves /metrics (Prometheus text format) on its own
// address, apart from the public one, and /debug/pprof/ behind the
// bearer token (FORMWORK_PPROF_TOKEN or its file) when one is set.
func metricsServer(ln net.Listener, reg *prometheus.Registry, token string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if token != "" {
		guard := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
		mux.Handle("/debug/pprof/", guard(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/profile", guard(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/trace", guard(http.HandlerFunc(pprof.Trace)))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// Buckets, in seconds, of the histograms below: store calls and audit
// commits take tenths of a millisecond to seconds, rules tens of
// microseconds to a second, jobs milliseconds to minutes.
var (
	storeBuckets = prometheus.ExponentialBuckets(0.0001, 4, 9)  // 100µs … 6.6s
	ruleBuckets  = prometheus.ExponentialBuckets(0.00001, 4, 9) // 10µs … 0.66s
	jobBuckets   = []float64{0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60, 300}
)

// scrapeTTL is how long a value read from Redis or the store on a scrape
// is reused, so that a scrape storm does not become a query storm.
const (
	queueScrapeTTL   = 5 * time.Second
	sessionScrapeTTL = 15 * time.Second
	// backupScrapeTTL bounds how often a scrape lists the backup directory.
	backupScrapeTTL = time.Minute
)

// procMetrics are the process's metrics beyond the HTTP server's
// (server/server_metrics.go): store calls, rule evaluations, audit
// commits, job runs, the outbox relay, queue depth and active sessions,
// all in reg. The engine and the queue report through their hooks
// (engine.Observer, queue.JobObserver, RelayOptions.Observe); a nil
// *procMetrics reports nothing.
type procMetrics struct {
	reg *prometheus.Registry
	log *slog.Logger
	now func() time.Time

	store     *prometheus.HistogramVec
	storeOK   [engine.NumStoreOps]prometheus.Observer // the common case, resolved once
	rules     *prometheus.HistogramVec
	audit     *prometheus.HistogramVec
	auditN    prometheus.Counter
	jobs      *prometheus.HistogramVec
	relayed   prometheus.Counter
	outboxDue prometheus.Gauge
	outboxMu  sync.Mutex
	outboxOld time.Time // when the oldest due outbox job fell due, at the last relay pass
	queueOnce sync.Once // watchQueue registers once
}

// newProcMetrics makes the process's registry and its metrics.
func newProcMetrics(log *slog.Logger) *procMetrics {
	m := &procMetrics{reg: newMetricsRegistry(), log: log, now: time.Now}
	m.store = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "formwork_store_op_seconds",
		Help: "Time of a store call, by operation and outcome (ok, not_found, conflict, invalid, error).", Buckets: storeBuckets}, []string{"op", "outcome"})
	for op := range engine.NumStoreOps {
		m.storeOK[op] = m.store.WithLabelValues(op.String(), engine.OutcomeOK.String())
	}
	m.rules = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "formwork_rule_eval_seconds",
		Help: "Time to evaluate a form's rules on a record, by occasion (create, update, preview, workflow).", Buckets: ruleBuckets}, []string{"op"})
	m.audit = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "formwork_audit_write_seconds",
		Help: "Time to commit one batch of the audit writer, by outcome.", Buckets: storeBuckets}, []string{"outcome"})
	m.auditN = prometheus.NewCounter(prometheus.CounterOpts{Name: "formwork_audit_events_written_total",
		Help: "Audit events committed by the audit writer (reads: views, lists, exports)."})
	m.jobs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "formwork_job_duration_seconds",
		Help: "Time to run a background job (handler and marking it done), by type and outcome.", Buckets: jobBuckets}, []string{"type", "outcome"})
	m.relayed = prometheus.NewCounter(prometheus.CounterOpts{Name: "formwork_outbox_relayed_total",
		Help: "Outbox jobs the relay moved to the queue."})
	m.outboxDue = prometheus.NewGauge(prometheus.GaugeOpts{Name: "formwork_outbox_pending",
		Help: "Due outbox jobs not yet done, at the relay's last pass (at most its scan limit)."})
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "formwork_outbox_lag_seconds",
		Help: "Age of the oldest due outbox job not yet done, as of the relay's last pass; 0 when none."}, m.outboxLag)
	m.reg.MustRegister(m.store, m.rules, m.audit, m.auditN, m.jobs, m.relayed, m.outboxDue, lag)
	return m
}

// registry is where the HTTP server registers its metrics (nil without).
func (m *procMetrics) registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// observeStore times every call of s (formwork_store_op_seconds).
func (m *procMetrics) observeStore(s engine.Store) engine.Store {
	if m == nil {
		return s
	}
	return engine.ObserveStore(s, m.storeOp)
}

func (m *procMetrics) storeOp(op engine.StoreOp, outcome engine.Outcome, took time.Duration) {
	if outcome == engine.OutcomeOK && op < engine.NumStoreOps {
		m.storeOK[op].Observe(took.Seconds())
		return
	}
	m.store.WithLabelValues(op.String(), outcome.String()).Observe(took.Seconds())
}

// engine is the service's Observer: rule evaluations and audit commits.
func (m *procMetrics) engine() engine.Observer {
	if m == nil {
		return engine.Observer{}
	}
	return engine.Observer{
		RuleEval: func(op string, took time.Duration) { m.rules.WithLabelValues(op).Observe(took.Seconds()) },
		AuditWrite: func(n int, outcome engine.Outcome, took time.Duration) {
			m.audit.WithLabelValues(outcome.String()).Observe(took.Seconds())
			if outcome == engine.OutcomeOK {
				m.auditN.Add(float64(n))
			}
		},
	}
}

// jobDone is the workers' JobObserver (formwork_job_duration_seconds).
func (m *procMetrics) jobDone() queue.JobObserver {
	if m == nil {
		return nil
	}
	return func(typ string, outcome engine.Outcome, took time.Duration) {
		m.jobs.WithLabelValues(typ, outcome.String()).Observe(took.Seconds())
	}
}

// relayPass is the relay's observer (formwork_outbox_*).
func (m *procMetrics) relayPass() func(queue.RelayPass) {
	if m == nil {
		return nil
	}
	return func(p queue.RelayPass) {
		m.relayed.Add(float64(p.Relayed))
		m.outboxDue.Set(float64(p.Pending))
		m.outboxMu.Lock()
		m.outboxOld = p.OldestDue
		m.outboxMu.Unlock()
	}
}

func (m *procMetrics) outboxLag() float64 {
	m.outboxMu.Lock()
	old := m.outboxOld
	m.outboxMu.Unlock()
	if old.IsZero() {
		return 0
	}
	return max(0, m.now().Sub(old).Seconds())
}

// watchQueue adds the queue depth read from Redis on scrape
// (formwork_queue_depth, formwork_queue_latency_seconds), cached
// queueScrapeTTL. Only its first call counts.
func (m *procMetrics) watchQueue(c *queue.Client) {
	if m == nil {
		return
	}
	m.queueOnce.Do(func() { m.registerQueue(c) })
}

func (m *procMetrics) registerQueue(c *queue.Client) {
	depth := prometheus.NewDesc("formwork_queue_depth", "Tasks in a job queue, by state (pending, active, scheduled, retry, archived).", []string{"queue", "state"}, nil)
	wait := prometheus.NewDesc("formwork_queue_latency_seconds", "How long the oldest pending task of a job queue has waited.", []string{"queue"}, nil)
	m.reg.MustRegister(m.cached("queue depth", queueScrapeTTL, []*prometheus.Desc{depth, wait}, func(ctx context.Context) ([]prometheus.Metric, error) {
		qs, err := c.Depths(ctx)
		if err != nil {
			return nil, err
		}
		var out []prometheus.Metric
		for _, q := range qs {
			for _, s := range []struct {
				state string
				n     int
			}{{"pending", q.Pending}, {"active", q.Active}, {"scheduled", q.Scheduled}, {"retry", q.Retry}, {"archived", q.Archived}} {
				out = append(out, prometheus.MustNewConstMetric(depth, prometheus.GaugeValue, float64(s.n), q.Queue, s.state))
			}
			out = append(out, prometheus.MustNewConstMetric(wait, prometheus.GaugeValue, q.Latency.Seconds(), q.Queue))
		}
		return out, nil
	}))
}

// watchSessions adds the count of who is signed in, read from the store
// on scrape (formwork_sessions_active{kind="browser"|"api"}), cached
// sessionScrapeTTL. Every process shows the same numbers: aggregate them
// with max, not sum.
func (m *procMetrics) watchSessions(o *engine.Org) {
	if m == nil {
		return
	}
	desc := prometheus.NewDesc("formwork_sessions_active", "Unexpired browser sessions (kind browser) and API login tokens (kind api), all nodes: one store.", []string{"kind"}, nil)
	m.reg.MustRegister(m.cached("active sessions", sessionScrapeTTL, []*prometheus.Desc{desc}, func(ctx context.Context) ([]prometheus.Metric, error) {
		n, err := o.CountLiveSessions(ctx)
		if err != nil {
			return nil, err
		}
		return []prometheus.Metric{prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n.Browser), "browser"),
			prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n.API), "api")}, nil
	}))
}

// watchBackups adds what the backup schedule s shows (the process that
// takes the scheduled backups): formwork_backup_newest_timestamp_seconds,
// the newest backup in its directory whoever took it (0: none), read on
// scrape at most every backupScrapeTTL; formwork_backup_interval_seconds,
// the schedule's period; and formwork_backup_failures_total, counted by
// s. An alert compares the first with the second (deploy/prometheus).
func (m *procMetrics) watchBackups(s *backupSchedule) {
	if m == nil || s == nil {
		return
	}
	newest := prometheus.NewDesc("formwork_backup_newest_timestamp_seconds", "When the newest backup in the backup directory was taken (Unix time; 0 when there is none).", nil, nil)
	interval := prometheus.NewGauge(prometheus.GaugeOpts{Name: "formwork_backup_interval_seconds",
		Help: "How often the schedule takes a backup (FORMWORK_BACKUP_EVERY)."})
	interval.Set(s.every.Seconds())
	failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "formwork_backup_failures_total",
		Help: "Scheduled backups that failed (the log says why; the next check tries again)."})
	s.failed = failures.Inc
	m.reg.MustRegister(interval, failures, m.cached("backups", backupScrapeTTL, []*prometheus.Desc{newest}, func(context.Context) ([]prometheus.Metric, error) {
		list, err := backup.List(s.dir)
		if err != nil {
			return nil, err
		}
		at := 0.0
		if len(list) > 0 {
			at = float64(list[0].Time.Unix())
		}
		return []prometheus.Metric{prometheus.MustNewConstMetric(newest, prometheus.GaugeValue, at)}, nil
	}))
}

// cached is a collector that reads its metrics on scrape, at most once per
// ttl: scrapes within ttl of a read get its values again. A failed read is
// logged and shows no values (stale ones would mislead) until the next read.
func (m *procMetrics) cached(what string, ttl time.Duration, descs []*prometheus.Desc, read func(context.Context) ([]prometheus.Metric, error)) *scrapeCache {
	return &scrapeCache{what: what, ttl: ttl, descs: descs, read: read, now: m.now, log: m.log}
}

// scrapeCache is the collector cached returns.
type scrapeCache struct {
	what  string
	ttl   time.Duration
	descs []*prometheus.Desc
	read  func(context.Context) ([]prometheus.Metric, error)
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex // one read at a time; scrapes meanwhile wait for it
	at    time.Time
	reads int
	last  []prometheus.Metric
}

// scrapeTimeout bounds one read, below Prometheus' default scrape timeout.
const scrapeTimeout = 5 * time.Second

// Describe implements prometheus.Collector.
func (c *scrapeCache) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *scrapeCache) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if now := c.now(); c.reads == 0 || now.Sub(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		ms, err := c.read(ctx)
		cancel()
		if err != nil {
			c.log.Warn("metrics: read failed", "what", c.what, "err", err)
		}
		c.at, c.last = now, ms
		c.reads++
	}
	last := c.last
	c.mu.Unlock()
	for _, mt := range last {
		ch <- mt
	}
}
