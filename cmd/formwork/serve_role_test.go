package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/queue/redistest"
	"formwork/engine/store/sqlite"
)

// roleRedisDB is the Redis database the role tests use on a real Redis,
// apart from the durability test's.
const roleRedisDB = 11

// testRedis returns the real Redis at FORMWORK_TEST_REDIS_ADDR with the
// role tests' database wiped before and after, or skips the test.
func testRedis(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("FORMWORK_TEST_REDIS_ADDR not set: the separate-process roles need a real Redis")
	}
	wipe := func() {
		if _, err := redistest.Command(addr, roleRedisDB, "FLUSHDB"); err != nil {
			t.Fatal(err)
		}
	}
	wipe()
	t.Cleanup(wipe)
	return addr
}

func TestServeRoleWithoutRedisIsRefused(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"web flag", nil, []string{"serve", "--role", "web", "--addr", "127.0.0.1:0"}},
		{"web env", []string{"FORMWORK_ROLE=web"}, []string{"serve", "--addr", "127.0.0.1:0"}},
		{"worker flag", nil, []string{"serve", "--role", "worker"}},
		{"worker alias", nil, []string{"worker"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runEnv(t, append(cleanEnv(), tc.env...), data, "", tc.args...)
			if code != 1 || !strings.Contains(out, envRedisAddr) || strings.Contains(out, "listening") {
				t.Errorf("exit %d, output %q; want exit 1 naming %s", code, out, envRedisAddr)
			}
		})
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused processes touched the data directory: %v", err)
	}
	out, code := run(t, data, "", "serve", "--role", "everything")
	if code == 0 || !strings.Contains(out, "--role") {
		t.Errorf("unknown role: exit %d, output %q; want an error naming --role", code, out)
	}
}

// startProc runs the binary with args and env until the test ends, and
// waits until its log says ready.
func startProc(t *testing.T, env []string, ready string, args ...string) *serveProc {
	t.Helper()
	p := spawn(t, env, args...)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log(), ready) {
		select {
		case err := <-p.exited:
			t.Fatalf("%v exited before %q: %v\n%s", args, ready, err, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: no %q after 30s\n%s", args, ready, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// log is what the process wrote to its standard error so far.
func (p *serveProc) log() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.stderr.String()
}

// term sends SIGTERM and waits up to d for a clean exit.
func (p *serveProc) term(t *testing.T, d time.Duration) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(d):
		t.Errorf("no exit within %s of SIGTERM\n%s", d, p.log())
	}
}

// TestServeRolesSplitWebAndWorker: with a real Redis, a worker process
// listens on no HTTP address (its metrics address aside) and a web process
// serves the product; both stop cleanly on SIGTERM.
func TestServeRolesSplitWebAndWorker(t *testing.T) {
	redis := testRedis(t)
	env := append(cleanEnv(), fmt.Sprintf("%s=redis://%s/%d", envRedisAddr, redis, roleRedisDB))
	data := filepath.Join(t.TempDir(), "data")
	addr, metrics := freeAddr(t), freeAddr(t)
	worker := startProc(t, env, "worker running", "--data", data, "serve", "--role", "worker", "--addr", addr, "--metrics-addr", metrics)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the worker accepts connections on --addr %s", addr)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get("http://" + metrics + "/metrics"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("worker /metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	webMetrics := freeAddr(t)
	web := startProc(t, append(env, "FORMWORK_ROLE=web"), "listening", "--data", data, "serve", "--addr", addr, "--metrics-addr", webMetrics)
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("web /readyz: %v %v\n%s", resp, err, web.log())
	}
	resp.Body.Close()
	// the queue's depth shows on a web process too
	if got := scrape(t, webMetrics); !hasSeries(got, `formwork_queue_depth{queue="default",state="pending"}`) {
		t.Errorf("web /metrics lacks formwork_queue_depth: %v", got.matching("formwork_queue"))
	}
	if strings.Contains(web.log(), "embedded queue") {
		t.Errorf("the web process started an embedded queue:\n%s", web.log())
	}
	web.term(t, 20*time.Second)
	worker.term(t, 20*time.Second)
}

// TestDrainHTTPFinishesRequestsInFlight: on shutdown a request already
// running completes with its response, new connections are refused, and a
// request that outlives the timeout is cut off with an error.
func TestDrainHTTPFinishesRequestsInFlight(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
			io.WriteString(w, "done")
		case <-r.Context().Done():
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := serveHTTP(srv, ln, "", "")
	type reply struct {
		body string
		err  error
	}
	got := make(chan reply, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- reply{string(b), err}
	}()
	<-started
	drained := make(chan error, 1)
	go func() { drained <- drainHTTP(srv, 10*time.Second) }()
	// the listener closes at once: a new connection is refused while the
	// request in flight still runs
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s into the shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-drained:
		t.Fatalf("shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("request in flight: %q, %v; want its full response", r.body, r.err)
	}
	if err := <-drained; err != nil {
		t.Errorf("drain: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("serve: %v", err)
	}

	// a request longer than the timeout: shutdown gives up and says so
	srv2 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHTTP(srv2, ln2, "", "")
	go func() {
		if resp, err := http.Get("http://" + ln2.Addr().String() + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	release2 := time.Now()
	err = drainHTTP(srv2, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "200ms") {
		t.Errorf("drain past the timeout: %v; want an error naming the timeout", err)
	}
	if d := time.Since(release2); d > 5*time.Second {
		t.Errorf("drain took %s with a 200ms timeout", d)
	}
}

// TestWorkerFinishesOrHandsBackItsJob checks asynq's shutdown as the
// process uses it (newWorker, runBackground) on a real Redis: a job that
// ends within the shutdown timeout completes and is marked done; one that
// does not goes back to Redis and the next worker runs it — no relay in
// between, so it is the hand-back, not the outbox, that saves it.
func TestWorkerFinishesOrHandsBackItsJob(t *testing.T) {
	redis := testRedis(t)
	s, err := sqlite.Open(filepath.Join(t.TempDir(), dbFile), sqlite.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := &queueConn{opt: asynq.RedisClientOpt{Addr: redis, DB: roleRedisDB}}
	q.client = queue.NewClient(q.opt)
	defer q.client.Close()
	d := &Deps{Store: s, Clock: time.Now, Log: newLogger(io.Discard)}
	const jobType = "test:slow"

	var runs, done atomic.Int32
	var startedOnce sync.Once
	started := make(chan struct{})
	handler := func(hold time.Duration) engine.JobHandler {
		return func(ctx context.Context, job engine.OutboxJob) error {
			runs.Add(1)
			startedOnce.Do(func() { close(started) })
			select {
			case <-time.After(hold):
				done.Add(1)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	addJob := func() engine.OutboxJob {
		job, err := queue.NewJob(jobType, map[string]string{}, time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(context.Background(), &engine.Change{Outbox: []engine.OutboxJob{job}}); err != nil {
			t.Fatal(err)
		}
		return job
	}
	pendingJobs := func() int {
		jobs, err := s.FindOutbox(context.Background(), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	startWith := func(timeout, hold time.Duration) func() {
		w := newWorker(d, q, timeout)
		w.Handle(jobType, handler(hold))
		stop, err := runBackground(context.Background(), d, q, w, engine.BlobGCOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return stop
	}

	t.Run("finishes within the timeout", func(t *testing.T) {
		runs.Store(0)
		done.Store(0)
		started = make(chan struct{})
		startedOnce = sync.Once{}
		stop := startWith(5*time.Second, 500*time.Millisecond)
		addJob()
		waitFor(t, started, "the job starts")
		stop()
		if done.Load() != 1 || pendingJobs() != 0 {
			t.Errorf("after shutdown: %d run(s), %d done, %d pending in the outbox; want the job finished and marked done", runs.Load(), done.Load(), pendingJobs())
		}
	})
	t.Run("handed back past the timeout", func(t *testing.T) {
		runs.Store(0)
		done.Store(0)
		started = make(chan struct{})
		startedOnce = sync.Once{}
		stop := startWith(300*time.Millisecond, time.Hour)
		addJob()
		waitFor(t, started, "the job starts")
		t0 := time.Now()
		stop()
		if el := time.Since(t0); el > 10*time.Second {
			t.Errorf("shutdown took %s with a 300ms timeout", el)
		}
		if done.Load() != 0 || pendingJobs() != 1 {
			t.Fatalf("after shutdown: %d done, %d pending; want the job unfinished and still pending", done.Load(), pendingJobs())
		}
		// a new worker only, no relay: the job must come from Redis
		w := newWorker(d, q, time.Second)
		w.Handle(jobType, handler(0))
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Shutdown()
		deadline := time.Now().Add(20 * time.Second)
		for done.Load() == 0 || pendingJobs() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the handed-back job did not run again: %d run(s), %d done, %d pending", runs.Load(), done.Load(), pendingJobs())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if runs.Load() != 2 {
			t.Errorf("%d runs; want 2 (the cut-off one and the one after)", runs.Load())
		}
	})
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("after 20s: %s", what)
	}
}

func hasSeries(m metricSet, series string) bool { _, ok := m[series]; return ok }
