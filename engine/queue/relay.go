package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"formwork/engine"
)

// RelayOptions tune a Relay; zero values pick the defaults.
type RelayOptions struct {
	Interval time.Duration    // how often to look for due jobs; default 500ms
	Grace    time.Duration    // re-enqueue a job still pending this long after it was enqueued; default 1m
	Batch    int              // new jobs per pass; default 200
	Clock    func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	Observe  func(RelayPass)  // nil: passes are not reported (metrics.go)
}

// Relay moves due jobs from the store's outbox to the queue. It remembers
// what it enqueued and when; a job still pending Grace after it was
// enqueued is enqueued again, which is a no-op while the queue still holds
// it and brings it back when the queue lost it (a Redis wipe or restart).
// Several relays may run at once: the task id makes enqueueing idempotent.
type Relay struct {
	store engine.Store
	q     engine.Queue
	opt   RelayOptions
	mu    sync.Mutex
	sent  map[string]time.Time // job id → when this relay last enqueued it
}

// NewRelay returns a relay from store to q.
func NewRelay(store engine.Store, q engine.Queue, o RelayOptions) *Relay {
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.Grace <= 0 {
		o.Grace = time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Relay{store: store, q: q, opt: o, sent: map[string]time.Time{}}
}

// maxScan bounds how many pending jobs one pass reads.
const maxScan = 20000

// RunOnce makes one pass: it reads the jobs due now and enqueues those it
// has not enqueued within the grace period. It returns how many it enqueued.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opt.Clock()
	// Jobs in flight come back from FindOutbox until they are done; read
	// past them so they cannot starve newer jobs.
	limit := min(r.opt.Batch+len(r.sent), maxScan)
	jobs, err := r.store.FindOutbox(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("relay: read outbox: %w", err)
	}
	pending := make(map[string]bool, len(jobs))
	n, fresh := 0, 0
	var firstErr error
	for _, j := range jobs {
		pending[j.ID] = true
		at, seen := r.sent[j.ID]
		if seen && now.Sub(at) < r.opt.Grace {
			continue
		}
		if !seen {
			if fresh >= r.opt.Batch {
				continue
			}
			fresh++
		}
		if err := r.q.Enqueue(ctx, j); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("relay: %w", err)
			}
			continue
		}
		if seen {
			r.opt.Logger.Info("relay: re-enqueued a job still pending after the grace period", "job", j.ID, "type", j.Type)
		}
		r.sent[j.ID] = now
		n++
	}
	if r.opt.Observe != nil {
		p := RelayPass{Relayed: n, Pending: len(jobs)}
		if len(jobs) > 0 {
			p.OldestDue = jobs[0].RunAt // FindOutbox reads oldest first
		}
		r.opt.Observe(p)
	}
	if len(jobs) < limit {
		// We saw every pending due job: forget those that are done.
		for id := range r.sent {
			if !pending[id] {
				delete(r.sent, id)
			}
		}
	}
	return n, firstErr
}

// Run makes a pass every Interval until ctx ends, logging failed passes
// (the next pass retries them). It returns nil when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	t := time.NewTicker(r.opt.Interval)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.opt.Logger.Warn("relay pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// InFlight returns how many jobs the relay enqueued and has not yet seen done.
func (r *Relay) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}
