package servicetest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// benchEnv is the workflow test app on SQLite with its default, durable
// synchronous=FULL setting and a real clock.
func benchEnv(b *testing.B) *wfEnv {
	b.Helper()
	e := newWfEnv(b, wfBundle(), workflow.Options{})
	// reopen on a durable store with the real clock: the fixture's store
	// syncs less and its clock is fake
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	org := engine.NewOrg(st, nil)
	if _, err := org.CreateUnit(ctx, engine.AuditActor{ID: engine.SystemActor}, engine.Unit{Key: "store", Name: engine.T("门店", "Store")}); err != nil {
		b.Fatal(err)
	}
	svc := engine.NewService(st, org, engine.ServiceOptions{})
	b.Cleanup(svc.Close)
	wf := workflow.New(svc, nil, workflow.Options{})
	users := map[string]*engine.Principal{}
	names := map[string]string{}
	for name, p := range e.users {
		u := *p.User
		u.Unit = "store"
		if err := engine.PutUserRecord(ctx, st, &u); err != nil {
			b.Fatal(err)
		}
		users[name] = &engine.Principal{User: &u}
		names[u.ID] = name
	}
	for i := 1; i <= 8; i++ {
		u := &engine.User{ID: engine.NewID(time.Now()), Email: fmt.Sprintf("ap%d@example.com", i), Name: fmt.Sprintf("ap%d", i), Unit: "store", CreatedAt: time.Now()}
		if err := engine.PutUserRecord(ctx, st, u); err != nil {
			b.Fatal(err)
		}
		users[u.Name] = &engine.Principal{User: u}
		names[u.ID] = u.Name
	}
	if _, err := svc.ImportApp(ctx, users["admin"], wfBundle(), engine.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	return &wfEnv{svc: svc, org: org, wf: wf, store: st, users: users, names: names}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkWorkflowSubmitToInbox measures how long it takes from a
// submission until the task is in the approver's inbox. Tasks are written
// in the record's own atomic write, so the time is the create call plus
// one inbox read; no queue hop is involved.
func BenchmarkWorkflowSubmitToInbox(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	approver := e.users["ap1"]
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := e.svc.CreateRecord(ctx, e.users["clerk"], "wft", "req", map[string]any{"kind": "field", "approver": approver.User.ID})
		if err != nil {
			b.Fatal(err)
		}
		l, err := e.wf.Tasks(ctx, approver, workflow.TaskQuery{Status: "open"})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if len(l.Items) == 0 || l.Items[0].Record != r.ID {
			b.Fatalf("task not in the inbox")
		}
		b.StopTimer()
		if _, err := e.wf.Act(ctx, approver, l.Items[0].ID, workflow.ActionApprove, workflow.TaskInput{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkWorkflowApprovals8 measures approvals completed per second with
// 8 approvers acting at once, each on their own tasks (b.N tasks in all).
func BenchmarkWorkflowApprovals8(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	tasks := make([][]string, 8)
	for i := 0; i < b.N; i++ {
		ap := e.users[fmt.Sprintf("ap%d", i%8+1)]
		if _, err := e.svc.CreateRecord(ctx, e.users["clerk"], "wft", "req", map[string]any{"kind": "field", "approver": ap.User.ID}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range tasks {
		l, err := e.wf.Tasks(ctx, e.users[fmt.Sprintf("ap%d", i+1)], workflow.TaskQuery{Status: "open", Limit: 1000})
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
	for i := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e.users[fmt.Sprintf("ap%d", i+1)]
			for _, id := range tasks[i] {
				if _, err := e.wf.Act(ctx, p, id, workflow.ActionApprove, workflow.TaskInput{}); err != nil {
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
