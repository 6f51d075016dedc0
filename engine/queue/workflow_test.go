package queue_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// wfPlugin is an action and channel plugin that counts what it got.
type wfPlugin struct {
	mu  sync.Mutex
	got map[string]int // event → messages
	ids map[string]int // message id → deliveries
}

func (p *wfPlugin) Name() string { return "counter" }

func (p *wfPlugin) Run(_ context.Context, m engine.PluginMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got[m.Event]++
	p.ids[m.ID]++
	return nil
}

func (p *wfPlugin) count(event string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[event]
}

// timerBundle: a plugin call, then an approval whose reminder comes after
// 1s and which approves itself after 2s.
const timerBundle = `{"formwork": "1", "app": {"key": "qt", "name": "Queue test", "version": "1.0.0"},
 "roles": [{"key": "clerk", "name": "Clerk", "permissions": {"req": {"operations": ["create", "read", "update"], "scope": "own", "fields": {"*": "edit"}}}}],
 "forms": [{"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "req", "x-title": "Request", "type": "object",
   "properties": {"title": {"type": "string", "x-widget": "text", "x-label": "Title"}}}],
 "workflows": [{"key": "auto", "form": "req", "name": "Auto", "trigger": {"on": ["create"]},
   "nodes": [{"key": "hook", "type": "action", "plugin": {"name": "counter", "config": {"x": 1}}},
             {"key": "wait", "type": "approval", "assignees": {"users": ["boss@example.com"]}, "mode": "any",
              "timeout": {"remind": "PT1S", "after": "PT2S", "action": "approve"}}]}]}`

// TestWorkflowJobsThroughTheQueue runs the workflow's jobs through the
// relay and an asynq worker in real time: the plugin call, the channel
// deliveries, the reminder and the timeout all happen once, also when
// Redis loses everything right after the submission, and delivering every
// job a second time changes nothing.
func TestWorkflowJobsThroughTheQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "fw.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		org := engine.NewOrg(st, nil)
		sys := engine.AuditActor{ID: engine.SystemActor}
		if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
			t.Fatal(err)
		}
		mk := func(email string, admin bool, roles ...string) *engine.Principal {
			u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: email, Name: email, Unit: "hq", Admin: admin,
				Roles: map[string][]string{"qt": roles}, Password: "correct horse battery staple"})
			if err != nil {
				t.Fatal(err)
			}
			return &engine.Principal{User: u}
		}
		admin, clerk := mk("admin@example.com", true), mk("clerk@example.com", false, "clerk")
		boss := mk("boss@example.com", false)
		svc := engine.NewService(st, org, engine.ServiceOptions{})
		t.Cleanup(svc.Close)
		plug := &wfPlugin{got: map[string]int{}, ids: map[string]int{}}
		reg := engine.NewPluginRegistry()
		reg.Register(plug)
		wf := workflow.New(svc, nil, workflow.Options{Plugins: reg, Channels: []string{"counter"}})
		if _, err := svc.ImportApp(ctx, admin, []byte(timerBundle), engine.ImportOptions{}); err != nil {
			t.Fatal(err)
		}

		client := queue.NewClient(b.conn)
		t.Cleanup(func() { client.Close() })
		w := queue.NewWorker(b.conn, st, queue.WorkerOptions{Concurrency: 4, RetryDelay: func(int) time.Duration { return 200 * time.Millisecond }, Logger: quietLogger()})
		queue.Register(w, wf)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Shutdown)
		relay := queue.NewRelay(st, client, queue.RelayOptions{Interval: 100 * time.Millisecond, Grace: time.Second, Logger: quietLogger()})
		rctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)

		r, err := svc.CreateRecord(ctx, clerk, "qt", "req", map[string]any{"title": "t"})
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := st.FindOutbox(ctx, time.Now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		// plugin, reminder, timeout; and a task notification for the boss
		if len(jobs) != 4 {
			t.Fatalf("outbox after submission: %d jobs, want 4: %+v", len(jobs), jobs)
		}
		if _, err := relay.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		b.wipe(t) // Redis loses the queued jobs; the outbox still holds them
		go relay.Run(rctx)

		deadline := time.Now().Add(20 * time.Second)
		for {
			rec, err := st.FindRecordByID(ctx, "qt", "req", r.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			left, err := st.FindOutbox(ctx, time.Now().Add(time.Hour), 100)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status == engine.StatusApproved && len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status %s, %d jobs pending after 20s", rec.Status, len(left))
			}
			time.Sleep(100 * time.Millisecond)
		}
		cnt := func() [3]int {
			ns, err := wf.Notifications(ctx, boss, false, 100)
			if err != nil {
				t.Fatal(err)
			}
			return [3]int{plug.count(engine.EventAction), plug.count(engine.EventNotification), len(ns)}
		}
		before := cnt()
		// task + remind notifications for the boss; one plugin call; one
		// delivery per notification (the clerk's result notification too)
		if before != [3]int{1, 3, 2} {
			t.Errorf("plugin calls, deliveries, boss's notifications = %v, want [1 3 2]", before)
		}
		// deliver every job once more, straight to the queue
		for _, j := range jobs {
			j.RunAt = time.Now()
			if err := client.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second)
		if after := cnt(); after != before {
			t.Errorf("after redelivery: %v, want %v", after, before)
		}
		var steps []string
		d, err := st.FindDocs(ctx, engine.DocQuery{Kind: workflow.KindWorkflowInstance, Tag: "record:" + r.ID})
		if err != nil || len(d) != 1 {
			t.Fatalf("instances: %d %v", len(d), err)
		}
		var in workflow.Instance
		if err := json.Unmarshal(d[0].Value, &in); err != nil {
			t.Fatal(err)
		}
		for _, s := range in.Steps {
			steps = append(steps, s.Kind)
		}
		want := []string{"start", "plugin", "task", "remind", "timeout", "approved"}
		if len(steps) != len(want) {
			t.Fatalf("steps %v, want %v", steps, want)
		}
		for i := range want {
			if steps[i] != want[i] {
				t.Fatalf("steps %v, want %v", steps, want)
			}
		}
	})
}

// burstBundle: every submission waits for the boss, who is reminded after
// a second.
const burstBundle = `{"formwork": "1", "app": {"key": "bt", "name": "Burst test", "version": "1.0.0"},
 "roles": [{"key": "clerk", "name": "Clerk", "permissions": {"req": {"operations": ["create", "read", "update"], "scope": "own", "fields": {"*": "edit"}}}}],
 "forms": [{"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "req", "x-title": "Request", "type": "object",
   "properties": {"n": {"type": "integer", "x-widget": "number", "x-label": "N"}}}],
 "workflows": [{"key": "wait", "form": "req", "name": "Wait", "trigger": {"on": ["create"]},
   "nodes": [{"key": "boss", "type": "approval", "assignees": {"users": ["boss@example.com"]}, "mode": "any", "timeout": {"remind": "PT1S"}}]}]}`

// wfProcess is one "process": a service with the workflow runtime, a
// worker and a relay over a store file and a Redis.
type wfProcess struct {
	st     *sqlite.Store
	svc    *engine.Service
	wf     *workflow.Runtime
	org    *engine.Org
	w      *queue.Worker
	client *queue.Client
	cancel context.CancelFunc
}

func startWfProcess(t *testing.T, path string, b *backend) *wfProcess {
	t.Helper()
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &wfProcess{st: st, org: engine.NewOrg(st, nil)}
	p.svc = engine.NewService(st, p.org, engine.ServiceOptions{})
	p.wf = workflow.New(p.svc, nil, workflow.Options{})
	p.client = queue.NewClient(b.conn)
	p.w = queue.NewWorker(b.conn, st, queue.WorkerOptions{Concurrency: 4, RetryDelay: func(int) time.Duration { return 200 * time.Millisecond }, Logger: quietLogger()})
	queue.Register(p.w, p.wf)
	if err := p.w.Start(); err != nil {
		t.Fatal(err)
	}
	relay := queue.NewRelay(st, p.client, queue.RelayOptions{Interval: 100 * time.Millisecond, Grace: time.Second, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go relay.Run(ctx)
	return p
}

// crash stops everything without any cleanup of the workflow state: the
// memory of the process is gone, the store keeps what was committed.
func (p *wfProcess) crash() {
	p.cancel()
	p.w.Shutdown()
	p.client.Close()
	p.st.Close()
}

// TestWorkflowBurstSurvivesRestart submits a burst of records from 8
// clients, "kills" the process in the middle (store closed under the
// writers, Redis wiped), starts a new one on the same store file and checks
// every submission that was acknowledged reached the approver, gets its
// reminder exactly once and can be completed.
func TestWorkflowBurstSurvivesRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "fw.db")
		p := startWfProcess(t, path, b)
		sys := engine.AuditActor{ID: engine.SystemActor}
		if _, err := p.org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
			t.Fatal(err)
		}
		mk := func(email string, admin bool, roles ...string) *engine.User {
			u, err := p.org.CreateUser(ctx, sys, engine.NewUser{Email: email, Name: email, Unit: "hq", Admin: admin,
				Roles: map[string][]string{"bt": roles}, Password: "correct horse battery staple"})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		admin, clerk, boss := mk("admin@example.com", true), mk("clerk@example.com", false, "clerk"), mk("boss@example.com", false)
		if _, err := p.svc.ImportApp(ctx, &engine.Principal{User: admin}, []byte(burstBundle), engine.ImportOptions{}); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		var acked []string
		var wg sync.WaitGroup
		crashAt := make(chan struct{})
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 15; i++ {
					if c == 0 && i == 6 {
						close(crashAt)
					}
					r, err := p.svc.CreateRecord(ctx, &engine.Principal{User: clerk}, "bt", "req", map[string]any{"n": float64(c*100 + i)})
					if err != nil {
						continue // the process died under this one: not acknowledged
					}
					mu.Lock()
					acked = append(acked, r.ID)
					mu.Unlock()
				}
			}()
		}
		<-crashAt
		b.wipe(t)
		p.crash()
		wg.Wait()
		if len(acked) == 0 {
			t.Fatal("no submission was acknowledged before the crash")
		}
		b.wipe(t)

		p2 := startWfProcess(t, path, b)
		t.Cleanup(p2.crash)
		bp := &engine.Principal{User: boss}
		// every acknowledged submission is in the boss's inbox
		l, err := p2.wf.Tasks(ctx, bp, workflow.TaskQuery{Status: "open", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		inbox := map[string]string{}
		for _, tk := range l.Items {
			inbox[tk.Record] = tk.ID
		}
		for _, id := range acked {
			if inbox[id] == "" {
				t.Errorf("acknowledged record %s has no task after the restart", id)
			}
		}
		// reminders arrive, once each, for every record under review
		deadline := time.Now().Add(30 * time.Second)
		for {
			left, err := p2.st.FindOutbox(ctx, time.Now().Add(time.Hour), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs still pending after 30s", len(left))
			}
			time.Sleep(200 * time.Millisecond)
		}
		ns, err := p2.wf.Notifications(ctx, bp, false, 10000)
		if err != nil {
			t.Fatal(err)
		}
		reminders := map[string]int{}
		for _, n := range ns {
			if n.Kind == "remind" {
				reminders[n.Record]++
			}
		}
		for rec := range inbox {
			if reminders[rec] != 1 {
				t.Errorf("record %s: %d reminders, want 1", rec, reminders[rec])
			}
		}
		ids := make([]string, 0, len(inbox))
		for _, id := range inbox {
			ids = append(ids, id)
		}
		for _, r := range p2.wf.BatchApprove(ctx, bp, ids, "ok") {
			if !r.OK {
				t.Errorf("approve %s: %v", r.Task, r.Error)
			}
		}
		for _, id := range acked {
			rec, err := p2.st.FindRecordByID(ctx, "bt", "req", id, false)
			if err != nil || rec.Status != engine.StatusApproved {
				t.Errorf("record %s after approval: %v %v", id, rec, err)
			}
		}
		t.Logf("%d submissions acknowledged before the crash, %d under review after it, all approved", len(acked), len(inbox))
	})
}
