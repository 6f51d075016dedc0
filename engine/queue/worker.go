package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"formwork/engine"
)

// WorkerOptions tune a Worker; zero values pick the defaults.
type WorkerOptions struct {
	Concurrency     int                             // default 4
	RetryDelay      func(attempt int) time.Duration // default: asynq's exponential backoff
	ShutdownTimeout time.Duration                   // default 8s: how long running handlers may finish
	Logger          *slog.Logger                    // default slog.Default(); asynq logs at warn and above
	Observe         JobObserver                     // nil: job runs are not reported (metrics.go)
}

// Worker runs job handlers on an asynq server. After a handler succeeds it
// marks the job done in the store's outbox; a failing handler is retried by
// asynq and its job stays pending in the outbox until a run succeeds.
type Worker struct {
	store    engine.Store
	srv      *asynq.Server
	mux      *asynq.ServeMux
	log      *slog.Logger
	observe  JobObserver
	mu       sync.RWMutex
	handlers map[string]engine.JobHandler
}

// NewWorker returns a worker reading from Redis at opt and marking jobs
// done in store. Register handlers with Handle, then Start it.
func NewWorker(opt asynq.RedisConnOpt, store engine.Store, o WorkerOptions) *Worker {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 8 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := asynq.Config{
		Concurrency:              o.Concurrency,
		Queues:                   map[string]int{QueueName: 1},
		ShutdownTimeout:          o.ShutdownTimeout,
		Logger:                   slogAdapter{o.Logger},
		LogLevel:                 asynq.WarnLevel,
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        200 * time.Millisecond,
	}
	if o.RetryDelay != nil {
		rd := o.RetryDelay
		cfg.RetryDelayFunc = func(n int, _ error, _ *asynq.Task) time.Duration { return rd(n) }
	}
	w := &Worker{store: store, srv: asynq.NewServer(opt, cfg), mux: asynq.NewServeMux(), log: o.Logger, observe: o.Observe, handlers: map[string]engine.JobHandler{}}
	return w
}

// Handle registers the handler of a job type (a noun:verb constant). It
// must be called before Start; a second handler for a type replaces the
// first. The handler must be idempotent (see the package comment).
func (w *Worker) Handle(jobType string, h engine.JobHandler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.handlers[jobType]; !ok {
		w.mux.HandleFunc(jobType, w.process)
	}
	w.handlers[jobType] = h
}

// process decodes the outbox job carried by a task, runs its handler and
// marks it done. Any error has asynq retry the task.
func (w *Worker) process(ctx context.Context, t *asynq.Task) (err error) {
	var job engine.OutboxJob
	if err := json.Unmarshal(t.Payload(), &job); err != nil || job.ID == "" {
		// Not ours: retrying cannot help, and the outbox does not hold it.
		return fmt.Errorf("decode task %s: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	w.mu.RLock()
	h := w.handlers[job.Type]
	w.mu.RUnlock()
	if h == nil {
		return fmt.Errorf("job %s: no handler for type %s", job.ID, job.Type)
	}
	if w.observe != nil {
		start := time.Now()
		defer func() { w.observe(job.Type, engine.OutcomeOf(err), time.Since(start)) }()
	}
	if err := h(ctx, job); err != nil {
		return fmt.Errorf("job %s (%s): %w", job.ID, job.Type, err)
	}
	if _, err := w.store.Apply(ctx, &engine.Change{OutboxDone: []string{job.ID}}); err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		// The handler ran but the store does not know: run it again later
		// (handlers are idempotent) rather than lose the completion.
		return fmt.Errorf("job %s: mark done: %w", job.ID, err)
	}
	return nil
}

// Start begins processing in the background.
func (w *Worker) Start() error {
	if err := w.srv.Start(w.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// Shutdown stops fetching jobs, waits up to the shutdown timeout for the
// running handlers and returns; unfinished jobs go back to the queue.
func (w *Worker) Shutdown() { w.srv.Shutdown() }

// Ping reports whether the worker's Redis answers.
func (w *Worker) Ping() error { return w.srv.Ping() }
