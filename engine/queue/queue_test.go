package queue_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/queue/redistest"
	"formwork/engine/store/sqlite"
)

// backend is a Redis the tests run against.
type backend struct {
	name  string
	conn  asynq.RedisConnOpt
	addr  string
	db    int
	wipe  func(tb testing.TB) // loses every key, as a crash without persistence
	close func()
}

// realRedisDB is the database the tests use on a real Redis, so a wipe
// (FLUSHDB) touches nothing else.
const realRedisDB = 7

// backends returns the embedded server always, and a real Redis when
// FORMWORK_TEST_REDIS_ADDR is set.
func backends(t *testing.T) []func(t *testing.T) *backend {
	embedded := func(t *testing.T) *backend {
		t.Helper()
		e, err := queue.StartEmbedded(queue.EmbeddedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		return &backend{name: "miniredis", conn: e.ConnOpt(), addr: e.Addr(), wipe: func(testing.TB) { e.FlushAll() }}
	}
	real := func(t *testing.T) *backend {
		t.Helper()
		addr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
		if addr == "" {
			t.Skip("FORMWORK_TEST_REDIS_ADDR not set: real-Redis tests skipped")
		}
		b := &backend{name: "redis", conn: asynq.RedisClientOpt{Addr: addr, DB: realRedisDB}, addr: addr, db: realRedisDB}
		b.wipe = func(tb testing.TB) {
			tb.Helper()
			if _, err := redistest.Command(addr, realRedisDB, "FLUSHDB"); err != nil {
				tb.Fatal(err)
			}
		}
		b.wipe(t)
		t.Cleanup(func() { b.wipe(t) })
		return b
	}
	return []func(t *testing.T) *backend{embedded, real}
}

// forEachBackend runs fn as a subtest on every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *backend)) {
	for i, mk := range backends(t) {
		t.Run([]string{"miniredis", "redis"}[i], func(t *testing.T) { fn(t, mk(t)) })
	}
}

func newStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "formwork.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// addJob writes a job the way an action does: in a Change with an audit event.
func addJob(tb testing.TB, s engine.Store, typ string, runAt time.Time) engine.OutboxJob {
	tb.Helper()
	now := time.Now()
	job, err := queue.NewJob(typ, map[string]string{"hello": "世界"}, runAt, now)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), &engine.Change{
		Audit:  []*engine.AuditEvent{{Time: now, Actor: "u1", Action: "create", Object: job.ID, Result: engine.ResultOK}},
		Outbox: []engine.OutboxJob{job},
	}); err != nil {
		tb.Fatal(err)
	}
	return job
}

// pending returns the ids of the jobs still pending in the outbox.
func pending(tb testing.TB, s engine.Store) []string {
	tb.Helper()
	jobs, err := s.FindOutbox(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil {
		tb.Fatal(err)
	}
	ids := []string{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// recorder is an idempotent handler: it records each job's effect once and
// counts deliveries; it fails the first failFirst deliveries of a job.
type recorder struct {
	mu        sync.Mutex
	calls     map[string]int
	effects   map[string]time.Time // job id → when its effect happened (first success)
	failFirst int
}

func newRecorder(failFirst int) *recorder {
	return &recorder{calls: map[string]int{}, effects: map[string]time.Time{}, failFirst: failFirst}
}

func (r *recorder) handle(_ context.Context, job engine.OutboxJob) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[job.ID]++
	if r.calls[job.ID] <= r.failFirst {
		return errors.New("induced failure")
	}
	if _, done := r.effects[job.ID]; !done {
		r.effects[job.ID] = time.Now()
	}
	return nil
}

func (r *recorder) snapshot() (calls map[string]int, effects map[string]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, effects = map[string]int{}, map[string]time.Time{}
	for k, v := range r.calls {
		calls[k] = v
	}
	for k, v := range r.effects {
		effects[k] = v
	}
	return calls, effects
}

const testJobType = "test:record"

// startWorker runs a worker with rec's handler until the test ends.
func startWorker(tb testing.TB, b *backend, s engine.Store, rec *recorder) {
	tb.Helper()
	w := queue.NewWorker(b.conn, s, queue.WorkerOptions{
		Concurrency: 2, Logger: quietLogger(), ShutdownTimeout: time.Second,
		RetryDelay: func(int) time.Duration { return 200 * time.Millisecond },
	})
	w.Handle(testJobType, rec.handle)
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Shutdown)
}

// startRelay runs a relay every 50ms until the test ends.
func startRelay(tb testing.TB, s engine.Store, q engine.Queue, o queue.RelayOptions) *queue.Relay {
	tb.Helper()
	if o.Interval == 0 {
		o.Interval = 50 * time.Millisecond
	}
	o.Logger = quietLogger()
	r := queue.NewRelay(s, q, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return r
}

func newClient(tb testing.TB, b *backend) *queue.Client {
	tb.Helper()
	c := queue.NewClient(b.conn)
	tb.Cleanup(func() { c.Close() })
	return c
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestJobRunsOnceAndIsMarkedDone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := newStore(t)
		rec := newRecorder(0)
		startWorker(t, b, s, rec)
		startRelay(t, s, newClient(t, b), queue.RelayOptions{})
		jobs := []engine.OutboxJob{addJob(t, s, testJobType, time.Time{}), addJob(t, s, testJobType, time.Time{})}

		eventually(t, 10*time.Second, "the jobs are marked done", func() bool { return len(pending(t, s)) == 0 })
		time.Sleep(300 * time.Millisecond) // more relay passes: nothing is delivered again
		calls, effects := rec.snapshot()
		want := map[string]int{jobs[0].ID: 1, jobs[1].ID: 1}
		if diff := cmp.Diff(want, calls); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		if len(effects) != 2 {
			t.Errorf("effects = %v, want one per job", effects)
		}
	})
}

func TestFailingJobStaysPendingUntilItSucceeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := newStore(t)
		rec := newRecorder(2)
		job := addJob(t, s, testJobType, time.Time{})
		startWorker(t, b, s, rec)
		startRelay(t, s, newClient(t, b), queue.RelayOptions{})

		eventually(t, 10*time.Second, "the job is delivered once", func() bool { c, _ := rec.snapshot(); return c[job.ID] >= 1 })
		if diff := cmp.Diff([]string{job.ID}, pending(t, s)); diff != "" {
			t.Errorf("after a failed run the job must stay pending (-want +got):\n%s", diff)
		}
		eventually(t, 20*time.Second, "the job is marked done", func() bool { return len(pending(t, s)) == 0 })
		calls, effects := rec.snapshot()
		if diff := cmp.Diff(map[string]int{job.ID: 3}, calls); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		if _, ok := effects[job.ID]; !ok {
			t.Error("the job's effect did not happen")
		}
	})
}

func TestJobLostFromRedisIsReenqueued(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := newStore(t)
		rec := newRecorder(0)
		job := addJob(t, s, testJobType, time.Time{})
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		r := queue.NewRelay(s, newClient(t, b), queue.RelayOptions{Grace: time.Minute, Clock: clock, Logger: quietLogger()})
		ctx := context.Background()
		if n, err := r.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("first pass: enqueued %d, %v; want 1", n, err)
		}
		b.wipe(t) // Redis loses the job before any worker took it
		startWorker(t, b, s, rec)

		time.Sleep(500 * time.Millisecond)
		if calls, _ := rec.snapshot(); len(calls) != 0 {
			t.Fatalf("a wiped job was delivered: %v", calls)
		}
		if n, err := r.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("pass within the grace period: enqueued %d, %v; want 0", n, err)
		}
		advance(time.Minute + time.Second)
		if n, err := r.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("pass after the grace period: enqueued %d, %v; want 1", n, err)
		}
		eventually(t, 10*time.Second, "the re-enqueued job is marked done", func() bool { return len(pending(t, s)) == 0 })
		calls, _ := rec.snapshot()
		if diff := cmp.Diff(map[string]int{job.ID: 1}, calls); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		// The relay forgets finished jobs once it sees them done.
		advance(time.Second)
		if _, err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.InFlight(); got != 0 {
			t.Errorf("InFlight after completion = %d, want 0", got)
		}
	})
}

func TestDelayedJobRunsAfterItsTime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := newStore(t)
		rec := newRecorder(0)
		runAt := time.Now().Add(1500 * time.Millisecond)
		job := addJob(t, s, testJobType, runAt)
		startWorker(t, b, s, rec)
		startRelay(t, s, newClient(t, b), queue.RelayOptions{})

		time.Sleep(time.Until(runAt) - 300*time.Millisecond)
		if calls, _ := rec.snapshot(); len(calls) != 0 {
			t.Fatalf("the delayed job ran early: %v", calls)
		}
		if diff := cmp.Diff([]string{job.ID}, pending(t, s)); diff != "" {
			t.Errorf("pending before its time (-want +got):\n%s", diff)
		}
		eventually(t, 10*time.Second, "the delayed job is marked done", func() bool { return len(pending(t, s)) == 0 })
		_, effects := rec.snapshot()
		at, ok := effects[job.ID]
		if !ok {
			t.Fatal("the delayed job's effect did not happen")
		}
		if at.Before(runAt) {
			t.Errorf("ran at %s, %s before its time", at.Format(time.StampMilli), runAt.Sub(at))
		}
	})
}

func TestDuplicateEnqueueIsANoOp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		c := newClient(t, b)
		now := time.Now()
		job, err := queue.NewJob(testJobType, nil, time.Time{}, now)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := c.Enqueue(context.Background(), job); err != nil {
				t.Fatalf("enqueue #%d: %v", i+1, err)
			}
		}
		insp := asynq.NewInspector(b.conn)
		defer insp.Close()
		tasks, err := insp.ListPendingTasks(queue.QueueName)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ti := range tasks {
			ids = append(ids, ti.ID)
		}
		if diff := cmp.Diff([]string{job.ID}, ids); diff != "" {
			t.Errorf("queued tasks (-want +got):\n%s", diff)
		}
		if err := c.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

func TestPingFailsWhenRedisIsDown(t *testing.T) {
	e, err := queue.StartEmbedded(queue.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := queue.NewClient(e.ConnOpt())
	defer c.Close()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping while up: %v", err)
	}
	e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = c.Ping(ctx)
	if got := engine.ErrorCode(err); got != engine.EUNAVAILABLE {
		t.Errorf("Ping while down: code %q (%v), want %q", got, err, engine.EUNAVAILABLE)
	}
}

func TestEmbeddedAdvancesTTLsWithTheClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e, err := queue.StartEmbedded(queue.EmbeddedOptions{Clock: clock, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := redistest.Command(e.Addr(), 0, "SET", "k", "v", "EX", "10"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "v"},
		{9 * time.Second, "v"},
		{2 * time.Second, "$-1"}, // 11s after SET: expired
	}
	for _, st := range steps {
		mu.Lock()
		now = now.Add(st.advance)
		mu.Unlock()
		e.Advance()
		got, err := redistest.Command(e.Addr(), 0, "GET", "k")
		if err != nil {
			t.Fatal(err)
		}
		if got != st.want {
			t.Errorf("after +%s: GET k = %q, want %q", st.advance, got, st.want)
		}
	}
}
