package queue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/queue/redistest"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// benchBundle: one approval by the user named in the record's approver field.
const benchBundle = `{"formwork": "1", "app": {"key": "qb", "name": "Queue bench", "version": "1.0.0"},
 "roles": [{"key": "clerk", "name": "Clerk", "permissions": {"req": {"operations": ["create", "read"], "scope": "own", "fields": {"*": "edit"}}}}],
 "forms": [{"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "req", "x-title": "Request", "type": "object",
   "properties": {"title": {"type": "string", "x-widget": "text", "x-label": "Title"},
                  "approver": {"type": "string", "x-widget": "member", "x-label": "Approver"}}}],
 "workflows": [{"key": "ok", "form": "req", "name": "OK", "trigger": {"on": ["create"]},
   "nodes": [{"key": "n", "type": "approval", "assignees": {"field": "approver"}, "mode": "any"}]}]}`

// notified records when each record's task notification came out of the
// queue (the channel plugin, run by the asynq worker).
type notified struct {
	mu  sync.Mutex
	at  map[string]time.Time
	sig chan struct{}
}

func (n *notified) Name() string { return "bench" }

func (n *notified) Run(_ context.Context, m engine.PluginMessage) error {
	n.mu.Lock()
	if m.Kind == "task" {
		if _, ok := n.at[m.Record]; !ok {
			n.at[m.Record] = time.Now()
		}
	}
	n.mu.Unlock()
	select {
	case n.sig <- struct{}{}:
	default:
	}
	return nil
}

func (n *notified) when(record string) (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.at[record]
	return t, ok
}

type benchRig struct {
	st        engine.Store
	svc       *engine.Service
	wf        *workflow.Runtime
	clerk     *engine.Principal
	approvers []*engine.Principal
	note      *notified
}

// newBenchRig runs the workflow runtime on a durable SQLite store with
// the relay and an asynq worker on the real Redis of
// FORMWORK_TEST_REDIS_ADDR (the benchmarks skip without it).
func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	addr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
	if addr == "" {
		b.Skip("FORMWORK_TEST_REDIS_ADDR not set: real-Redis benchmarks skipped")
	}
	const db = 8
	if _, err := redistest.Command(addr, db, "FLUSHDB"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = redistest.Command(addr, db, "FLUSHDB") })
	conn := asynq.RedisClientOpt{Addr: addr, DB: db}
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "fw.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	org := engine.NewOrg(st, nil)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		b.Fatal(err)
	}
	r := &benchRig{st: st, note: &notified{at: map[string]time.Time{}, sig: make(chan struct{}, 1)}}
	mk := func(email string, admin bool, roles ...string) *engine.Principal {
		u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: email, Name: email, Unit: "hq", Admin: admin,
			Roles: map[string][]string{"qb": roles}, Password: "correct horse battery staple"})
		if err != nil {
			b.Fatal(err)
		}
		return &engine.Principal{User: u}
	}
	admin := mk("admin@example.com", true)
	r.clerk = mk("clerk@example.com", false, "clerk")
	for i := 1; i <= 8; i++ {
		r.approvers = append(r.approvers, mk(fmt.Sprintf("ap%d@example.com", i), false))
	}
	r.svc = engine.NewService(st, org, engine.ServiceOptions{})
	b.Cleanup(r.svc.Close)
	reg := engine.NewPluginRegistry()
	reg.Register(r.note)
	r.wf = workflow.New(r.svc, nil, workflow.Options{Plugins: reg, Channels: []string{"bench"}})
	if _, err := r.svc.ImportApp(ctx, admin, []byte(benchBundle), engine.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	client := queue.NewClient(conn)
	b.Cleanup(func() { client.Close() })
	w := queue.NewWorker(conn, st, queue.WorkerOptions{Logger: quietLogger()})
	queue.Register(w, r.wf)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Shutdown)
	relay := queue.NewRelay(st, client, queue.RelayOptions{Logger: quietLogger()})
	rctx, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	go relay.Run(rctx)
	return r
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkRedisSubmitToTask measures, with the relay and worker running
// on real Redis, the time from a submission until the task is in the
// approver's inbox (inbox-ms: the task is written with the record, so
// this is one create plus one inbox read) and until its notification has
// come out of the queue (notify-ms: outbox → relay → Redis → worker →
// channel plugin; the relay polls every 500 ms).
func BenchmarkRedisSubmitToTask(b *testing.B) {
	r := newBenchRig(b)
	ctx := context.Background()
	ap := r.approvers[0]
	inbox := make([]time.Duration, 0, b.N)
	notify := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec, err := r.svc.CreateRecord(ctx, r.clerk, "qb", "req", map[string]any{"title": "t", "approver": ap.User.ID})
		if err != nil {
			b.Fatal(err)
		}
		l, err := r.wf.Tasks(ctx, ap, workflow.TaskQuery{Status: "open", Limit: 1})
		if err != nil || len(l.Items) == 0 || l.Items[0].Record != rec.ID {
			b.Fatalf("task not in the inbox: %v", err)
		}
		inbox = append(inbox, time.Since(start))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if at, ok := r.note.when(rec.ID); ok {
				notify = append(notify, at.Sub(start))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no notification for %s after 30s", rec.ID)
			}
			select {
			case <-r.note.sig:
			case <-time.After(20 * time.Millisecond):
			}
		}
		b.StopTimer()
		if _, err := r.wf.Act(ctx, ap, l.Items[0].ID, workflow.ActionApprove, workflow.TaskInput{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(pct(inbox, 0.5).Microseconds())/1000, "inbox-p50-ms")
	b.ReportMetric(float64(pct(inbox, 0.99).Microseconds())/1000, "inbox-p99-ms")
	b.ReportMetric(float64(pct(notify, 0.5).Microseconds())/1000, "notify-p50-ms")
	b.ReportMetric(float64(pct(notify, 0.99).Microseconds())/1000, "notify-p99-ms")
}

// BenchmarkRedisApprovals8 measures approvals completed per second with 8
// approvers acting at once while the worker delivers the notifications
// on real Redis.
func BenchmarkRedisApprovals8(b *testing.B) {
	r := newBenchRig(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := r.svc.CreateRecord(ctx, r.clerk, "qb", "req", map[string]any{"title": "t", "approver": r.approvers[i%8].User.ID}); err != nil {
			b.Fatal(err)
		}
	}
	tasks := make([][]string, 8)
	for i, ap := range r.approvers {
		l, err := r.wf.Tasks(ctx, ap, workflow.TaskQuery{Status: "open", Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range l.Items {
			tasks[i] = append(tasks[i], t.ID)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, ap := range r.approvers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range tasks[i] {
				if _, err := r.wf.Act(ctx, ap, id, workflow.ActionApprove, workflow.TaskInput{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "approvals/s")
}
