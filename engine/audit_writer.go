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
	// Committed, when set, is called with each committed batch, one batch
	// at a time in commit order, from the goroutine that committed it; it
	// must return at once (the anomaly watcher only queues the events).
	Committed func([]*AuditEvent)
	// Observe, when set, is told each commit's size, outcome and time
	// (metrics), like Committed.
	Observe func(events int, outcome Outcome, took time.Duration)
}

// AuditWriter appends audit events of reads (views, lists, exports) with
// group commit: events that arrive while a commit is under way are written
// together by the next single Store.Apply, and each Write returns only when
// the commit holding its event is done. Auditing every read then costs one
// transaction per burst, not per request, and no event is lost when the
// process dies; the batches are lazy (Change.Lazy), so a power cut may
// lose the last of them.
//
// A Write that finds no commit under way commits its event itself, on its
// own goroutine: handing it to the writer's goroutine and waiting to be
// woken cost a request two goroutine switches, most of them on an idle
// server. Events that arrive during a commit queue for the writer's
// goroutine, which commits them together once that commit is done.
type AuditWriter struct {
	s        Store
	maxBatch int
	after    func([]*AuditEvent)
	observe  func(int, Outcome, time.Duration)

	mu       sync.Mutex
	queue    []*auditReq // accepted, not yet committing
	busy     bool        // a commit is under way (by a Write or by the loop)
	closed   bool
	inflight sync.WaitGroup // commits by Writes, which Close waits for
	kick     chan struct{}  // the queue has events and no commit is under way
	quit     chan struct{}  // closed by Close once no Write commits any more
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
	w := &AuditWriter{s: s, maxBatch: opts.MaxBatch, after: opts.Committed, observe: opts.Observe,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Write appends ev and blocks until the batch holding it is committed; ev
// then carries its Seq and Hash. Every waiter of a failed batch gets the
// error. If ctx ends first Write returns ctx.Err(), but the event may still
// be committed with its batch. After Close, Write returns EUNAVAILABLE.
func (w *AuditWriter) Write(ctx context.Context, ev *AuditEvent) error {
	return w.writeAt(ctx, ev, 0)
}

// writeAt is Write of an event whose request resolved the current version
// of the event's app (0: not known).
func (w *AuditWriter) writeAt(ctx context.Context, ev *AuditEvent, version int) error {
	if ev == nil {
		return Errorf(EINVALID, T("审计事件为空", "nil audit event"))
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errAuditClosed()
	}
	if w.busy || len(w.queue) > 0 {
		w.mu.Unlock()
		return w.startAt(ctx, ev, version)()
	}
	w.busy = true
	w.inflight.Add(1)
	w.mu.Unlock()
	defer w.inflight.Done()
	return w.commit([]*auditReq{{ev: ev, version: version}})
}

// startAt queues ev, of a request that resolved the current version of
// the event's app (0: not known), for the writer's goroutine, and returns
// the wait for the commit holding it.
func (w *AuditWriter) startAt(ctx context.Context, ev *AuditEvent, version int) (wait func() error) {
	failed := func(err error) func() error { return func() error { return err } }
	if ev == nil {
		return failed(Errorf(EINVALID, T("审计事件为空", "nil audit event")))
	}
	r := &auditReq{ev: ev, version: version, err: make(chan error, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return failed(errAuditClosed())
	}
	w.queue = append(w.queue, r)
	if !w.busy {
		w.wake()
	}
	w.mu.Unlock()
	return func() error {
		select {
		case err := <-r.err:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func errAuditClosed() error {
	return Errorf(EUNAVAILABLE, T("审计写入器已关闭", "audit writer is closed"))
}

// wake tells the loop the queue has events; w.mu is held.
func (w *AuditWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// commit writes batch (w.busy is set by the caller) and tells its waiters
// the outcome; it returns that outcome. The batch's Committed and Observe
// calls come before the next commit may start, and the loop is woken for
// what queued meanwhile.
func (w *AuditWriter) commit(batch []*auditReq) error {
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
	if err == nil && w.after != nil {
		w.after(evs)
	}
	w.mu.Lock()
	w.busy = false
	if len(w.queue) > 0 {
		w.wake()
	}
	w.mu.Unlock()
	for _, r := range batch {
		if r.err != nil {
			r.err <- err
		}
	}
	return err
}

// Close stops accepting events, commits those already accepted and waits
// for the last commit.
func (w *AuditWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.inflight.Wait()
	close(w.quit)
	<-w.done
	return nil
}

// loop commits the queued events, up to maxBatch at a time, whenever no
// commit is under way; after quit, until none is left.
func (w *AuditWriter) loop() {
	defer close(w.done)
	quitting := false
	for {
		if !quitting {
			select {
			case <-w.kick:
			case <-w.quit:
				quitting = true
			}
		}
		w.mu.Lock()
		if w.busy || len(w.queue) == 0 {
			w.mu.Unlock()
			if quitting {
				return // Writes no longer commit (Close waited for them): busy is the loop's own, done
			}
			continue
		}
		n := min(len(w.queue), w.maxBatch)
		batch := w.queue[:n:n]
		w.queue = w.queue[n:]
		if len(w.queue) == 0 {
			w.queue = nil
		}
		w.busy = true
		w.mu.Unlock()
		w.commit(batch)
	}
}
