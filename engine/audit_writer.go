package engine

import (
	"context"
	"sync"
	"time"
)

// AuditWriterOptions tunes an AuditWriter.
type AuditWriterOptions struct {
	// MaxBatch caps the events of one commit. Default 1000.
	MaxBatch int
	// Committed, when set, is called with each committed batch from the
	// writer's goroutine; it must return at once (the anomaly watcher
	// only queues the events).
	Committed func([]*AuditEvent)
	// Observe, when set, is told each commit's size, outcome and time
	// (metrics), from the writer's goroutine.
	Observe func(events int, outcome Outcome, took time.Duration)
}

// AuditWriter appends audit events of reads (views, lists, exports) with
// group commit: events that arrive while a commit is under way are written
// together by the next single Store.Apply, and each Write returns only when
// the commit holding its event is done. Auditing every read then costs one
// transaction per burst, not per request, and no event is lost when the
// process dies; the batches are lazy (Change.Lazy), so a power cut may
// lose the last of them.
type AuditWriter struct {
	s        Store
	maxBatch int
	after    func([]*AuditEvent)
	observe  func(int, Outcome, time.Duration)
	reqs     chan *auditReq
	mu       sync.RWMutex // guards closed against Write racing Close
	closed   bool
	done     chan struct{}
}

type auditReq struct {
	ev      *AuditEvent
	version int // the app version the event's request resolved (0: not known); see Change.auditVersions
	err     chan error
}

// NewAuditWriter starts a writer on s. Call Close when done.
func NewAuditWriter(s Store, opts AuditWriterOptions) *AuditWriter {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	w := &AuditWriter{s: s, maxBatch: opts.MaxBatch, after: opts.Committed, observe: opts.Observe, reqs: make(chan *auditReq, opts.MaxBatch), done: make(chan struct{})}
	go w.loop()
	return w
}

// Write appends ev and blocks until the batch holding it is committed; ev
// then carries its Seq and Hash. Every waiter of a failed batch gets the
// error. If ctx ends first Write returns ctx.Err(), but the event may still
// be committed with its batch. After Close, Write returns EUNAVAILABLE.
func (w *AuditWriter) Write(ctx context.Context, ev *AuditEvent) error {
	return w.Start(ctx, ev)()
}

// Start is Write in two halves: it queues ev and returns the wait for the
// commit holding it, so that a caller can prepare its answer while the
// event commits. The answer must not leave before wait returns nil.
func (w *AuditWriter) Start(ctx context.Context, ev *AuditEvent) (wait func() error) {
	return w.startAt(ctx, ev, 0)
}

// startAt is Start of an event whose request resolved the current version
// of the event's app (0: not known).
func (w *AuditWriter) startAt(ctx context.Context, ev *AuditEvent, version int) (wait func() error) {
	failed := func(err error) func() error { return func() error { return err } }
	if ev == nil {
		return failed(Errorf(EINVALID, T("审计事件为空", "nil audit event")))
	}
	r := &auditReq{ev: ev, version: version, err: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return failed(Errorf(EUNAVAILABLE, T("审计写入器已关闭", "audit writer is closed")))
	}
	select {
	case w.reqs <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return failed(ctx.Err())
	}
	return func() error {
		select {
		case err := <-r.err:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting events, commits those already accepted and waits
// for the last commit.
func (w *AuditWriter) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
	return nil
}

func (w *AuditWriter) loop() {
	defer close(w.done)
	batch := make([]*auditReq, 0, w.maxBatch)
	for first := range w.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		evs := make([]*AuditEvent, len(batch))
		var versions []int
		for i, r := range batch {
			evs[i] = r.ev
			if r.version != 0 {
				if versions == nil {
					versions = make([]int, len(batch))
				}
				versions[i] = r.version
			}
		}
		// The commit must not die with one caller's context: others wait on it.
		start := time.Now()
		_, err := w.s.Apply(context.Background(), &Change{Audit: evs, Lazy: true, auditVersions: versions})
		if w.observe != nil {
			w.observe(len(evs), OutcomeOf(err), time.Since(start))
		}
		for _, r := range batch {
			r.err <- err
		}
		if err == nil && w.after != nil {
			w.after(evs)
		}
	}
}
