package servicetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// wfClock is an injected clock: every reading moves 1ms on (so ids keep
// their order) and Advance jumps ahead.
type wfClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wfClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *wfClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wfEnv is the workflow runtime on a real SQLite store with a unit tree
// hq → region → store (and store2 beside it) and users in it.
type wfEnv struct {
	svc   *engine.Service
	org   *engine.Org
	wf    *workflow.Runtime
	store engine.Store
	clock *wfClock
	users map[string]*engine.Principal
	names map[string]string // user id → name
	rec   *recorder
}

// recorder is a plugin (action and channel) that remembers what it got.
type recorder struct {
	mu   sync.Mutex
	got  []engine.PluginMessage
	fail bool
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Run(_ context.Context, m engine.PluginMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fmt.Errorf("recorder: told to fail")
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) messages() []engine.PluginMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wfBundle is a test app with one workflow per node type and mode; the
// record's kind field picks the workflow.
func wfBundle() []byte {
	wf := func(kind string, nodes ...any) map[string]any {
		return map[string]any{"key": "wf_" + kind, "form": "req", "name": map[string]string{"zh": "流程" + kind, "en": "Flow " + kind},
			"trigger": map[string]any{"on": []string{"create", "update"}, "when": "kind == '" + kind + "'"}, "nodes": nodes}
	}
	appr := func(key string, assignees map[string]any, mode string, extra ...map[string]any) map[string]any {
		n := map[string]any{"key": key, "type": "approval", "name": map[string]string{"zh": key, "en": key}, "assignees": assignees, "mode": mode}
		for _, e := range extra {
			for k, v := range e {
				n[k] = v
			}
		}
		return n
	}
	users := func(u ...string) map[string]any { return map[string]any{"users": u} }
	roles := func(r ...string) map[string]any { return map[string]any{"roles": r} }
	b := map[string]any{
		"formwork": "1",
		"app":      map[string]any{"key": "wft", "name": map[string]string{"zh": "流程测试", "en": "Workflow test"}, "version": "1.0.0"},
		"roles": []any{
			map[string]any{"key": "clerk", "name": "Clerk", "permissions": map[string]any{"req": map[string]any{"operations": []string{"create", "read", "update"}, "scope": "own", "fields": map[string]string{"*": "edit"}}}},
			map[string]any{"key": "mgr", "name": "Manager", "permissions": map[string]any{"req": map[string]any{"operations": []string{"read", "update"}, "scope": "unit_and_below", "fields": map[string]string{"*": "edit"}}}},
			map[string]any{"key": "fin", "name": "Finance", "permissions": map[string]any{"req": map[string]any{"operations": []string{"read"}, "scope": "all", "fields": map[string]string{"*": "read"}}}},
			map[string]any{"key": "hq_admin", "name": "HQ admin", "permissions": map[string]any{"req": map[string]any{"operations": []string{"create", "read", "update", "delete"}, "scope": "all", "fields": map[string]string{"*": "edit"}}}},
			map[string]any{"key": "ghost", "name": "Nobody", "permissions": map[string]any{"req": map[string]any{"operations": []string{"read"}, "scope": "own"}}},
		},
		"forms": []any{map[string]any{
			"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "req", "x-title": map[string]string{"zh": "申请", "en": "Request"}, "type": "object",
			"properties": map[string]any{
				"kind":     map[string]any{"type": "string", "x-widget": "text", "x-label": "Kind"},
				"title":    map[string]any{"type": "string", "maxLength": 80, "x-widget": "text", "x-label": "Title"},
				"amount":   map[string]any{"type": "number", "minimum": 0, "x-widget": "money", "x-label": "Amount"},
				"note":     map[string]any{"type": "string", "x-widget": "text", "x-label": "Note"},
				"approver": map[string]any{"type": "string", "x-widget": "member", "x-label": "Approver"},
			},
			"required": []string{"kind"},
			"x-checks": []any{map[string]any{"expr": "amount <= 10000", "message": map[string]string{"zh": "金额不能超过一万", "en": "at most 10000"}}},
		}},
		"workflows": []any{
			wf("any", appr("n", users("m1@example.com", "m2@example.com"), "any")),
			wf("all", appr("n", roles("mgr"), "all")),
			wf("seq", appr("n", users("m1@example.com", "m2@example.com", "m3@example.com"), "sequence")),
			wf("cond",
				map[string]any{"key": "route", "type": "condition", "branches": []any{
					map[string]any{"when": "amount > 1000", "nodes": []any{appr("big", users("m2@example.com"), "any")}},
					map[string]any{"else": true, "nodes": []any{}}}},
				map[string]any{"key": "mark", "type": "action", "set": map[string]string{"note": "amount > 1000 ? 'big' : 'small'"}}),
			wf("par",
				map[string]any{"key": "fork", "type": "parallel", "branches": []any{
					map[string]any{"nodes": []any{appr("left", users("m1@example.com"), "any")}},
					map[string]any{"nodes": []any{appr("right", users("m2@example.com"), "any"), map[string]any{"key": "tell", "type": "cc", "to": map[string]any{"field": "approver"}}}}}},
				map[string]any{"key": "stop", "type": "end"},
				appr("never", users("m3@example.com"), "any")),
			wf("head0", appr("n", map[string]any{"unit_head": "submitter"}, "any")),
			wf("head1", appr("n", map[string]any{"unit_head": "submitter", "levels_up": 1}, "any")),
			wf("field", appr("n", map[string]any{"field": "approver"}, "any")),
			wf("fin", appr("n", roles("fin"), "any")),
			wf("empty", appr("n", roles("ghost"), "any")),
			wf("esc", appr("n", users("m1@example.com"), "any", map[string]any{"timeout": map[string]any{"remind": "PT1H", "after": "PT2H", "action": "escalate", "to": roles("hq_admin")}})),
			wf("tok", appr("n", users("m1@example.com"), "any", map[string]any{"timeout": map[string]any{"after": "PT1H", "action": "approve"}})),
			wf("tno", appr("n", users("m1@example.com"), "any", map[string]any{"timeout": map[string]any{"after": "PT1H", "action": "reject"}})),
			wf("plug", map[string]any{"key": "hook", "type": "action", "plugin": map[string]any{"name": "recorder", "config": map[string]any{"url": "http://example.invalid/"}}},
				appr("n", users("m1@example.com"), "any")),
			wf("ret", appr("a1", users("m1@example.com"), "any"), appr("a2", users("m2@example.com"), "any"), appr("a3", users("m3@example.com"), "any")),
			wf("edit", appr("n", users("m1@example.com"), "any", map[string]any{"fields": map[string]string{"amount": "edit", "*": "read"}})),
			wf("self", appr("n", users("clerk@example.com", "m1@example.com"), "all")),
			wf("selfonly", appr("n", users("clerk@example.com"), "any")),
			wf("selfok", appr("n", users("clerk@example.com", "m1@example.com"), "all", map[string]any{"self": "allow"})),
		},
	}
	raw, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return raw
}

func newWfEnv(tb testing.TB, bundle []byte, opt workflow.Options) *wfEnv {
	tb.Helper()
	ctx := context.Background()
	clock := &wfClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "fw.db"), sqlite.Options{Now: clock.Now, Synchronous: "NORMAL"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	org := engine.NewOrg(st, clock.Now)
	sys := engine.AuditActor{ID: engine.SystemActor}
	for _, u := range []engine.Unit{{Key: "hq", Name: engine.T("总部", "HQ")}, {Key: "region", Name: engine.T("大区", "Region"), Parent: "hq"},
		{Key: "store", Name: engine.T("门店", "Store"), Parent: "region"}, {Key: "store2", Name: engine.T("二店", "Store 2"), Parent: "region"}} {
		if _, err := org.CreateUnit(ctx, sys, u); err != nil {
			tb.Fatal(err)
		}
	}
	svc := engine.NewService(st, org, engine.ServiceOptions{Clock: clock.Now})
	tb.Cleanup(svc.Close)
	rec := &recorder{}
	if opt.Plugins == nil {
		opt.Plugins = engine.NewPluginRegistry()
		opt.Plugins.Register(rec)
	}
	e := &wfEnv{svc: svc, org: org, store: st, clock: clock, users: map[string]*engine.Principal{}, names: map[string]string{}, rec: rec}
	e.wf = workflow.New(svc, clock.Now, opt)
	mk := func(name, unit string, admin bool, roles ...string) {
		u := &engine.User{ID: engine.NewID(clock.Now()), Email: name + "@example.com", Name: name, Unit: unit, Admin: admin,
			Roles: map[string][]string{"wft": roles}, CreatedAt: clock.Now()}
		if len(roles) == 0 {
			u.Roles = nil
		}
		if err := engine.PutUserRecord(ctx, st, u); err != nil {
			tb.Fatal(err)
		}
		e.users[name] = &engine.Principal{User: u, IP: "127.0.0.1"}
		e.names[u.ID] = name
	}
	mk("admin", "hq", true)
	mk("clerk", "store", false, "clerk")
	mk("clerk2", "store2", false, "clerk")
	mk("m1", "store", false)
	mk("m2", "region", false)
	mk("m3", "hq", false)
	mk("mgr_s1", "store", false, "mgr")
	mk("mgr_s2", "store", false, "mgr")
	mk("mgr_r", "region", false, "mgr")
	mk("fin2", "store2", false, "fin")
	mk("fin_hq", "hq", false, "fin")
	mk("hqa", "hq", false, "hq_admin")
	mk("hqb", "hq", false, "hq_admin")
	for unit, head := range map[string]string{"store": "m1", "region": "m2"} {
		if _, err := org.UpdateUnitHead(ctx, sys, unit, e.users[head].User.ID); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := svc.ImportApp(ctx, e.users["admin"], bundle, engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *wfEnv) submit(tb testing.TB, user string, data map[string]any) *engine.RecordView {
	tb.Helper()
	r, err := e.svc.CreateRecord(context.Background(), e.users[user], "wft", "req", data)
	if err != nil {
		tb.Fatalf("submit %v: %v", data, err)
	}
	return r
}

// open returns the names of the users with an open task on a record.
func (e *wfEnv) open(tb testing.TB, recordID string) []string {
	tb.Helper()
	docs, err := e.store.FindDocs(context.Background(), engine.DocQuery{Kind: workflow.KindTask, Tag: "record:" + recordID})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		var t workflow.Task
		if err := json.Unmarshal(d.Value, &t); err != nil {
			tb.Fatal(err)
		}
		if t.Status == workflow.TaskOpen {
			out = append(out, e.names[t.Assignee])
		}
	}
	sort.Strings(out)
	return out
}

// task returns user's open task on a record.
func (e *wfEnv) task(tb testing.TB, user, recordID string) *workflow.Task {
	tb.Helper()
	l, err := e.wf.Tasks(context.Background(), e.users[user], workflow.TaskQuery{Status: "open"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range l.Items {
		if t.Record == recordID {
			return t
		}
	}
	tb.Fatalf("%s has no open task on %s", user, recordID)
	return nil
}

func (e *wfEnv) act(tb testing.TB, user, recordID, action string, in workflow.TaskInput) {
	tb.Helper()
	t := e.task(tb, user, recordID)
	if _, err := e.wf.Act(context.Background(), e.users[user], t.ID, action, in); err != nil {
		tb.Fatalf("%s %s: %v", user, action, err)
	}
}

func (e *wfEnv) record(tb testing.TB, id string) *engine.Record {
	tb.Helper()
	r, err := e.store.FindRecordByID(context.Background(), "wft", "req", id, false)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func (e *wfEnv) status(tb testing.TB, id string) string { tb.Helper(); return e.record(tb, id).Status }

// steps lists a record's workflow steps as "kind node actor" strings.
func (e *wfEnv) steps(tb testing.TB, id string) []string {
	tb.Helper()
	docs, err := e.store.FindDocs(context.Background(), engine.DocQuery{Kind: workflow.KindWorkflowInstance, Tag: "record:" + id})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		var in workflow.Instance
		if err := json.Unmarshal(d.Value, &in); err != nil {
			tb.Fatal(err)
		}
		for _, s := range in.Steps {
			line := s.Kind
			if s.Node != "" {
				line += " " + s.Node
			}
			if n := e.names[s.Actor]; n != "" {
				line += " by " + n
			}
			if len(s.Users) > 0 {
				var us []string
				for _, u := range s.Users {
					us = append(us, e.names[u])
				}
				line += " → " + strings.Join(us, ",")
			}
			out = append(out, line)
		}
	}
	return out
}

// runDue runs every due outbox job of a workflow type through the
// handler, the way the worker does (handler, then mark done); with twice
// it delivers each job a second time.
func (e *wfEnv) runDue(tb testing.TB, twice bool) int {
	tb.Helper()
	ctx := context.Background()
	jobs, err := e.store.FindOutbox(ctx, e.clock.Now(), 1000)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if !slices.Contains(workflow.JobTypes(), j.Type) {
			continue
		}
		for i := 0; i < 1+btoi(twice); i++ {
			if err := e.wf.HandleJob(ctx, j); err != nil {
				tb.Fatalf("job %s (%s): %v", j.ID, j.Type, err)
			}
			if _, err := e.store.Apply(ctx, &engine.Change{OutboxDone: []string{j.ID}}); err != nil {
				tb.Fatal(err)
			}
		}
		n++
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func diff(tb testing.TB, what string, want, got any) {
	tb.Helper()
	if d := cmp.Diff(want, got); d != "" {
		tb.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func TestWorkflowApprovalModes(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()

	t.Run("any: the first decision wins", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "any"})
		if r.Status != engine.StatusInReview {
			t.Fatalf("status %s, want in_review", r.Status)
		}
		diff(t, "open tasks", []string{"m1", "m2"}, e.open(t, r.ID))
		t2 := e.task(t, "m2", r.ID)
		e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{Comment: "ok"})
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
		diff(t, "open tasks", []string(nil), e.open(t, r.ID))
		if _, err := e.wf.Act(ctx, e.users["m2"], t2.ID, workflow.ActionApprove, workflow.TaskInput{}); engine.ErrorCode(err) != engine.ECONFLICT {
			t.Errorf("m2 approving a decided node: %v, want conflict", err)
		}
		diff(t, "steps", []string{"start by clerk", "task n → m1,m2", "approve n by m1", "approved"}, e.steps(t, r.ID))
	})
	t.Run("any: a rejection rejects", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "any"})
		e.act(t, "m2", r.ID, workflow.ActionReject, workflow.TaskInput{Comment: "no"})
		diff(t, "status", engine.StatusRejected, e.status(t, r.ID))
		diff(t, "open tasks", []string(nil), e.open(t, r.ID))
	})
	t.Run("all: every assignee approves", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "all"})
		// mgr holders in the submitter's own unit come first; the region's is not asked
		diff(t, "open tasks", []string{"mgr_s1", "mgr_s2"}, e.open(t, r.ID))
		e.act(t, "mgr_s1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status after one", engine.StatusInReview, e.status(t, r.ID))
		diff(t, "open tasks", []string{"mgr_s2"}, e.open(t, r.ID))
		e.act(t, "mgr_s2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status after both", engine.StatusApproved, e.status(t, r.ID))
	})
	t.Run("all: one rejection rejects", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "all"})
		e.act(t, "mgr_s1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		e.act(t, "mgr_s2", r.ID, workflow.ActionReject, workflow.TaskInput{})
		diff(t, "status", engine.StatusRejected, e.status(t, r.ID))
	})
	t.Run("sequence: one after another", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "seq"})
		for _, u := range []string{"m1", "m2", "m3"} {
			diff(t, "open tasks", []string{u}, e.open(t, r.ID))
			e.act(t, u, r.ID, workflow.ActionApprove, workflow.TaskInput{})
		}
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
	})
	t.Run("a submitter cannot edit under review, and resubmits after a rejection", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "any", "title": "v1"})
		if _, err := e.svc.UpdateRecord(ctx, e.users["clerk"], "wft", "req", r.ID, 0, map[string]any{"title": "v2"}); engine.ErrorCode(err) != engine.ECONFLICT {
			t.Fatalf("edit under review: %v, want conflict", err)
		}
		e.act(t, "m1", r.ID, workflow.ActionReject, workflow.TaskInput{})
		up, err := e.svc.UpdateRecord(ctx, e.users["clerk"], "wft", "req", r.ID, 0, map[string]any{"title": "v2"})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "status after resubmission", engine.StatusInReview, up.Status)
		diff(t, "open tasks", []string{"m1", "m2"}, e.open(t, r.ID))
	})
}

func TestWorkflowNodeTypes(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()

	t.Run("condition: a true branch, then an action sets a field", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "cond", "amount": 5000.0})
		diff(t, "open tasks", []string{"m2"}, e.open(t, r.ID))
		e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		got := e.record(t, r.ID)
		diff(t, "status", engine.StatusApproved, got.Status)
		diff(t, "note set by the action", "big", got.Data["note"])
		revs, err := e.store.FindRevisions(ctx, "wft", "req", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := revs[len(revs)-1]
		diff(t, "last revision", []string{"approved", "note"}, []string{last.Status, last.Changes[0].Field})
	})
	t.Run("condition: the else branch runs straight through at submission", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "cond", "amount": 10.0})
		diff(t, "status", engine.StatusApproved, r.Status)
		diff(t, "note", "small", r.Data["note"])
		diff(t, "steps", []string{"start by clerk", "condition route", "set mark", "approved"}, e.steps(t, r.ID))
	})
	t.Run("parallel: both branches, a cc, then end", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "par", "approver": e.users["m3"].User.ID})
		diff(t, "open tasks", []string{"m1", "m2"}, e.open(t, r.ID))
		e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status after one branch", engine.StatusInReview, e.status(t, r.ID))
		diff(t, "open tasks", []string{"m1"}, e.open(t, r.ID))
		e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
		diff(t, "steps", []string{"start by clerk", "parallel fork", "task left → m1", "task right → m2", "approve right by m2", "cc tell → m3",
			"approve left by m1", "end stop", "approved"}, e.steps(t, r.ID))
		ns, err := e.wf.Notifications(ctx, e.users["m3"], true, 0)
		if err != nil || len(ns) != 1 || ns[0].Kind != "cc" {
			t.Errorf("m3's notifications: %+v %v, want one cc", ns, err)
		}
	})
	t.Run("parallel: a rejection in one branch ends both", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "par"})
		e.act(t, "m1", r.ID, workflow.ActionReject, workflow.TaskInput{})
		diff(t, "status", engine.StatusRejected, e.status(t, r.ID))
		diff(t, "open tasks", []string(nil), e.open(t, r.ID))
	})
	t.Run("parallel: returning from one branch to the other's node", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "par"})
		e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		left := e.task(t, "m1", r.ID)
		if _, err := e.wf.Act(ctx, e.users["m1"], left.ID, workflow.ActionReturn, workflow.TaskInput{}); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("return with nothing before the branch: %v, want invalid", err)
		}
		e.act(t, "m1", r.ID, workflow.ActionReturn, workflow.TaskInput{To: "right"})
		diff(t, "back at right", []string{"m2"}, e.open(t, r.ID))
		e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
	})
}

// TestWorkflowSubmitterNeverDecides: a submitter whom a node's rule names
// is passed over (the others decide; with nobody else, the step escalates),
// unless the node says "self": "allow".
func TestWorkflowSubmitterNeverDecides(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	tests := []struct {
		kind  string
		want  []string
		steps []string
	}{
		{"self", []string{"m1"}, []string{"start by clerk", "skip_self n → clerk", "task n → m1"}},
		{"selfonly", []string{"admin"}, []string{"start by clerk", "skip_self n → clerk", "escalate n → admin", "task n → admin"}},
		{"selfok", []string{"clerk", "m1"}, []string{"start by clerk", "task n → clerk,m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			r := e.submit(t, "clerk", map[string]any{"kind": tc.kind})
			diff(t, "assignees", tc.want, e.open(t, r.ID))
			diff(t, "steps", tc.steps, e.steps(t, r.ID))
		})
	}
	// with "self": "allow" the submitter's approval counts
	r := e.submit(t, "clerk", map[string]any{"kind": "selfok"})
	e.act(t, "clerk", r.ID, workflow.ActionApprove, workflow.TaskInput{})
	e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
	diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
	page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "workflow.skip_submitter"})
	if err != nil || len(page.Items) != 2 {
		t.Errorf("skip audit events: %d %v, want 2", len(page.Items), err)
	}
	// the last resort: the only administrator submits and nobody else may
	// decide; they keep the step (they may change any record anyway), on record
	r = e.submit(t, "admin", map[string]any{"kind": "empty"})
	diff(t, "lone administrator", []string{"admin"}, e.open(t, r.ID))
	diff(t, "lone administrator's steps", []string{"start by admin", "self_fallback n → admin", "escalate n → admin", "task n → admin"}, e.steps(t, r.ID))
	e.act(t, "admin", r.ID, workflow.ActionApprove, workflow.TaskInput{})
	diff(t, "lone administrator's status", engine.StatusApproved, e.status(t, r.ID))
	if page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "workflow.self_fallback"}); err != nil || len(page.Items) != 1 {
		t.Errorf("fallback audit events: %v %v, want 1", page, err)
	}
}

func TestWorkflowAssignees(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	tests := []struct {
		name, user string
		data       map[string]any
		want       []string
	}{
		{"unit head of the submitter's unit", "clerk", map[string]any{"kind": "head0"}, []string{"m1"}},
		{"unit head one level up", "clerk", map[string]any{"kind": "head1"}, []string{"m2"}},
		{"a member field", "clerk", map[string]any{"kind": "field", "approver": "m3@example.com"}, []string{"m3"}},
		{"roles: nearest unit first (store2 holder for a store2 submitter)", "clerk2", map[string]any{"kind": "fin"}, []string{"fin2"}},
		{"roles: an ancestor's holders when the unit has none", "clerk", map[string]any{"kind": "fin"}, []string{"fin_hq"}},
		{"roles: the region's manager for a store2 submitter", "clerk2", map[string]any{"kind": "all"}, []string{"mgr_r"}},
		{"nobody holds the role: the administrators", "clerk", map[string]any{"kind": "empty"}, []string{"admin"}},
		{"an empty member field: the administrators", "clerk", map[string]any{"kind": "field"}, []string{"admin"}},
		{"unit head of a unit without one: the administrators", "clerk2", map[string]any{"kind": "head0"}, []string{"admin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.submit(t, tc.user, tc.data)
			diff(t, "assignees", tc.want, e.open(t, r.ID))
		})
	}
	// escalation to the administrators is on the timeline and in the audit log
	page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "workflow.escalate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 {
		t.Errorf("escalation audit events: %d, want 3", len(page.Items))
	}
}

func TestWorkflowActions(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()

	t.Run("return to the previous and to a named node; transfer; add a signer", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "ret"})
		e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "at a2", []string{"m2"}, e.open(t, r.ID))
		e.act(t, "m2", r.ID, workflow.ActionReturn, workflow.TaskInput{Comment: "fix it"})
		diff(t, "returned to a1", []string{"m1"}, e.open(t, r.ID))
		e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		// a transfer goes to someone who may read the record anyway (finance reads every request)
		e.act(t, "m2", r.ID, workflow.ActionTransfer, workflow.TaskInput{To: "fin_hq@example.com", Comment: "you decide"})
		diff(t, "transferred", []string{"fin_hq"}, e.open(t, r.ID))
		e.act(t, "fin_hq", r.ID, workflow.ActionAddSigner, workflow.TaskInput{To: e.users["hqa"].User.ID})
		diff(t, "signer added", []string{"fin_hq", "hqa"}, e.open(t, r.ID))
		e.act(t, "hqa", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "at a3", []string{"m3"}, e.open(t, r.ID))
		bad := e.task(t, "m3", r.ID)
		if _, err := e.wf.Act(ctx, e.users["m3"], bad.ID, workflow.ActionReturn, workflow.TaskInput{To: "nope"}); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("return to an unknown node: %v", err)
		}
		e.act(t, "m3", r.ID, workflow.ActionReturn, workflow.TaskInput{To: "a1"})
		diff(t, "returned to a1 by name", []string{"m1"}, e.open(t, r.ID))
		first := e.task(t, "m1", r.ID)
		if _, err := e.wf.Act(ctx, e.users["m1"], first.ID, workflow.ActionReturn, workflow.TaskInput{}); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("return from the first node: %v, want invalid", err)
		}
		e.act(t, "m1", r.ID, workflow.ActionComment, workflow.TaskInput{Comment: "looking"})
		for _, u := range []string{"m1", "m2", "m3"} {
			e.act(t, u, r.ID, workflow.ActionApprove, workflow.TaskInput{})
		}
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
		diff(t, "steps", []string{
			"start by clerk", "task a1 → m1", "approve a1 by m1", "task a2 → m2", "return a2 by m2", "task a1 → m1", "approve a1 by m1",
			"task a2 → m2", "transfer a2 by m2 → fin_hq", "add_signer a2 by fin_hq → hqa", "approve a2 by hqa", "task a3 → m3", "return a3 by m3",
			"task a1 → m1", "comment a1 by m1", "approve a1 by m1", "task a2 → m2", "approve a2 by m2", "task a3 → m3", "approve a3 by m3", "approved",
		}, e.steps(t, r.ID))
	})
	t.Run("withdraw before anyone acted, not after", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "ret"})
		if err := e.wf.Withdraw(ctx, e.users["m1"], "wft", "req", r.ID, ""); engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Errorf("withdraw by someone else: %v, want not found", err)
		}
		if err := e.wf.Withdraw(ctx, e.users["clerk"], "wft", "req", r.ID, "oops"); err != nil {
			t.Fatal(err)
		}
		diff(t, "status", engine.StatusWithdrawn, e.status(t, r.ID))
		diff(t, "open", []string(nil), e.open(t, r.ID))
		r2 := e.submit(t, "clerk", map[string]any{"kind": "ret"})
		e.act(t, "m1", r2.ID, workflow.ActionApprove, workflow.TaskInput{})
		if err := e.wf.Withdraw(ctx, e.users["clerk"], "wft", "req", r2.ID, ""); engine.ErrorCode(err) != engine.ECONFLICT {
			t.Errorf("withdraw after an approval: %v, want conflict", err)
		}
	})
	t.Run("an approver edits exactly the fields the node grants", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "edit", "amount": 100.0, "title": "t"})
		tk := e.task(t, "m1", r.ID)
		_, err := e.wf.Act(ctx, e.users["m1"], tk.ID, workflow.ActionApprove, workflow.TaskInput{Data: map[string]any{"title": "changed"}})
		if engine.ErrorCode(err) != engine.EFORBIDDEN {
			t.Errorf("editing a read field: %v, want forbidden", err)
		}
		_, err = e.wf.Act(ctx, e.users["m1"], tk.ID, workflow.ActionApprove, workflow.TaskInput{Data: map[string]any{"amount": 20000.0}})
		if engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("an edit the form's checks refuse: %v, want invalid", err)
		}
		if _, err := e.wf.Act(ctx, e.users["m1"], tk.ID, workflow.ActionApprove, workflow.TaskInput{Data: map[string]any{"amount": 80.0}}); err != nil {
			t.Fatal(err)
		}
		got := e.record(t, r.ID)
		diff(t, "record", []any{engine.StatusApproved, 80.0, "t"}, []any{got.Status, got.Data["amount"], got.Data["title"]})
		revs, err := e.store.FindRevisions(ctx, "wft", "req", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "revision by the approver", e.users["m1"].User.ID, revs[len(revs)-1].Actor)
	})
	t.Run("the task page shows the record as the node allows", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "edit", "amount": 100.0})
		d, err := e.wf.Task(ctx, e.users["m1"], e.task(t, "m1", r.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "perms", map[string]string{"amount": "edit", "approver": "read", "kind": "read", "note": "read", "title": "read"}, d.Fields)
		if _, err := e.wf.Task(ctx, e.users["m2"], d.Task.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Errorf("another user's task: %v, want not found", err)
		}
	})
	t.Run("batch approve", func(t *testing.T) {
		var ids []string
		for i := 0; i < 3; i++ {
			r := e.submit(t, "clerk", map[string]any{"kind": "any"})
			ids = append(ids, e.task(t, "m1", r.ID).ID)
		}
		res := e.wf.BatchApprove(ctx, e.users["m1"], append(ids, "missing"), "all fine")
		var got []string
		for _, r := range res {
			s := "ok"
			if !r.OK {
				s = r.Error.Code
			}
			got = append(got, s)
		}
		diff(t, "results", []string{"ok", "ok", "ok", engine.ENOTFOUND}, got)
	})
	t.Run("inbox counts and timeline", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "any"})
		l, err := e.wf.Tasks(ctx, e.users["m2"], workflow.TaskQuery{Status: "open"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.wf.OpenTaskCount(ctx, e.users["m2"])
		if err != nil || n != l.Open || len(l.Items) != l.Open || l.Open == 0 {
			t.Errorf("open count %d (%v), list %d items, Open %d", n, err, len(l.Items), l.Open)
		}
		e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{Comment: "fine"})
		tl, err := e.wf.Timeline(ctx, e.users["clerk"], "wft", "req", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, en := range tl {
			kinds = append(kinds, en.Kind)
		}
		diff(t, "timeline", []string{"create", "start", "task", "approve", "approved"}, kinds)
		if _, err := e.wf.Timeline(ctx, e.users["clerk2"], "wft", "req", r.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Errorf("timeline for a stranger: %v, want not found", err)
		}
		unread, err := e.wf.UnreadCount(ctx, e.users["clerk"])
		if err != nil || unread == 0 {
			t.Fatalf("clerk's unread: %d %v", unread, err)
		}
		if err := e.wf.MarkRead(ctx, e.users["clerk"]); err != nil {
			t.Fatal(err)
		}
		if unread, _ := e.wf.UnreadCount(ctx, e.users["clerk"]); unread != 0 {
			t.Errorf("unread after MarkRead: %d", unread)
		}
	})
}

// TestWorkflowConcurrentApprovals: approvers acting at once on an any
// node: exactly one wins; on an all node: every approval counts.
func TestWorkflowConcurrentApprovals(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		r := e.submit(t, "clerk", map[string]any{"kind": "any"})
		t1, t2 := e.task(t, "m1", r.ID), e.task(t, "m2", r.ID)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for j, pt := range []struct {
			u  string
			id string
		}{{"m1", t1.ID}, {"m2", t2.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = e.wf.Act(ctx, e.users[pt.u], pt.id, workflow.ActionApprove, workflow.TaskInput{})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if engine.ErrorCode(err) != engine.ECONFLICT {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		approvals := 0
		for _, s := range e.steps(t, r.ID) {
			if strings.HasPrefix(s, "approve ") {
				approvals++
			}
		}
		if ok != 1 || approvals != 1 || e.status(t, r.ID) != engine.StatusApproved {
			t.Fatalf("any node: %d winners, %d approvals, status %s", ok, approvals, e.status(t, r.ID))
		}

		r = e.submit(t, "clerk", map[string]any{"kind": "all"})
		a, b := e.task(t, "mgr_s1", r.ID), e.task(t, "mgr_s2", r.ID)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = e.wf.Act(ctx, e.users["mgr_s1"], a.ID, workflow.ActionApprove, workflow.TaskInput{})
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = e.wf.Act(ctx, e.users["mgr_s2"], b.ID, workflow.ActionApprove, workflow.TaskInput{})
		}()
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || e.status(t, r.ID) != engine.StatusApproved {
			t.Fatalf("all node: %v %v, status %s", errs[0], errs[1], e.status(t, r.ID))
		}
	}
}

func TestWorkflowTimers(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	countKind := func(user, kind string) int {
		ns, err := e.wf.Notifications(ctx, e.users[user], false, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range ns {
			if x.Kind == kind {
				n++
			}
		}
		return n
	}

	t.Run("remind, then escalate; duplicate deliveries are harmless", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "esc"})
		tk := e.task(t, "m1", r.ID)
		if tk.DueAt == nil || !tk.DueAt.Equal(time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC).Add(tk.CreatedAt.Sub(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)))) {
			t.Errorf("due at %v, want two hours after %v", tk.DueAt, tk.CreatedAt)
		}
		// a timer delivered early does nothing (and is retried later)
		jobs, err := e.store.FindOutbox(ctx, e.clock.Now().Add(3*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Type == workflow.JobWorkflowTimeout {
				if err := e.wf.HandleJob(ctx, j); engine.ErrorCode(err) != engine.EUNAVAILABLE {
					t.Errorf("early timeout: %v, want not due", err)
				}
			}
		}
		diff(t, "no due jobs yet", 0, e.runDue(t, false))
		e.clock.Advance(time.Hour)
		diff(t, "due jobs after 1h", 1, e.runDue(t, true))
		diff(t, "reminders to m1", 1, countKind("m1", "remind"))
		e.clock.Advance(time.Hour)
		diff(t, "due jobs after 2h", 1, e.runDue(t, true))
		diff(t, "escalated", []string{"hqa", "hqb", "m1"}, e.open(t, r.ID))
		e.act(t, "hqb", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
		diff(t, "steps", []string{"start by clerk", "task n → m1", "remind n → m1", "escalate n → hqa,hqb", "approve n by hqb", "approved"}, e.steps(t, r.ID))
	})
	t.Run("timeout approves", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "tok"})
		e.clock.Advance(time.Hour)
		e.runDue(t, true)
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
	})
	t.Run("timeout rejects", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "tno"})
		e.clock.Advance(time.Hour)
		e.runDue(t, true)
		diff(t, "status", engine.StatusRejected, e.status(t, r.ID))
	})
	t.Run("a timer of a node already decided does nothing", func(t *testing.T) {
		r := e.submit(t, "clerk", map[string]any{"kind": "tno"})
		e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
		e.clock.Advance(time.Hour)
		e.runDue(t, true)
		diff(t, "status", engine.StatusApproved, e.status(t, r.ID))
	})
}

func TestWorkflowPluginsAndChannels(t *testing.T) {
	rec := &recorder{}
	reg := engine.NewPluginRegistry()
	reg.Register(rec)
	e := newWfEnv(t, wfBundle(), workflow.Options{Plugins: reg, Channels: []string{"recorder"}})
	ctx := context.Background()
	r := e.submit(t, "clerk", map[string]any{"kind": "plug", "title": "hello"})
	rec.fail = true
	jobs, err := e.store.FindOutbox(ctx, e.clock.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Type == workflow.JobWorkflowPlugin {
			if err := e.wf.HandleJob(ctx, j); err == nil {
				t.Errorf("a failing plugin must fail its job so it is retried")
			}
		}
	}
	rec.fail = false
	e.runDue(t, true)
	var actions, notes int
	for _, m := range rec.messages() {
		switch m.Event {
		case engine.EventAction:
			actions++
			diff(t, "action data", "hello", m.Data["title"])
			diff(t, "config", "http://example.invalid/", m.Config["url"])
		case engine.EventNotification:
			notes++
			diff(t, "recipient", "m1@example.com", m.To[0].Email)
		}
	}
	diff(t, "plugin calls, notification deliveries", []int{1, 1}, []int{actions, notes})
	pending, err := e.store.FindOutbox(ctx, e.clock.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "pending jobs", 0, len(pending))
	diff(t, "status", engine.StatusInReview, e.status(t, r.ID))
}

// TestWorkflowShopDiscount runs the shop example's discount_approval end
// to end: the store head approves (raising the discount, as the node
// allows), the condition routes to HQ's countersign, the rep is told and
// the action promotes the customer.
func TestWorkflowShopDiscount(t *testing.T) {
	raw := readShop(t)
	e := newWfEnv(t, raw, workflow.Options{})
	ctx := context.Background()
	sys := engine.AuditActor{ID: engine.SystemActor}
	mk := func(name, unit string, roles ...string) *engine.Principal {
		u := &engine.User{ID: engine.NewID(e.clock.Now()), Email: name + "@shop.example", Name: name, Unit: unit,
			Roles: map[string][]string{"shop": roles}, CreatedAt: e.clock.Now()}
		if err := engine.PutUserRecord(ctx, e.store, u); err != nil {
			t.Fatal(err)
		}
		e.names[u.ID] = name
		return &engine.Principal{User: u}
	}
	seller := mk("seller", "store", "store_manager")
	head := mk("head", "store", "store_manager")
	hq1, hq2 := mk("hq1", "hq", "hq_admin"), mk("hq2", "hq", "hq_admin")
	rep := mk("rep", "store", "staff")
	if _, err := e.org.UpdateUnitHead(ctx, sys, "store", head.User.ID); err != nil {
		t.Fatal(err)
	}
	tasksOf := func(p *engine.Principal) []*workflow.Task {
		l, err := e.wf.Tasks(ctx, p, workflow.TaskQuery{Status: "open"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	approve := func(p *engine.Principal, in workflow.TaskInput) {
		t.Helper()
		ts := tasksOf(p)
		if len(ts) != 1 {
			t.Fatalf("%s has %d open tasks, want 1", p.User.Name, len(ts))
		}
		if _, err := e.wf.Act(ctx, p, ts[0].ID, workflow.ActionApprove, in); err != nil {
			t.Fatalf("%s approves: %v", p.User.Name, err)
		}
	}

	c, err := e.svc.CreateRecord(ctx, seller, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222", "level": "gold",
		"vip_since": "2026-01-01", "budget": 1000.0, "discount": 0.25, "rep": rep.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "status", engine.StatusInReview, c.Status)
	approve(head, workflow.TaskInput{Data: map[string]any{"discount": 0.35}, Comment: "VIP of many years"})
	for _, p := range []*engine.Principal{hq1, hq2} {
		approve(p, workflow.TaskInput{})
	}
	got, err := e.store.FindRecordByID(ctx, "shop", "customer", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "record", []any{engine.StatusApproved, 0.35, 650.0, "gold"}, []any{got.Status, got.Data["discount"], got.Data["final_price"], got.Data["level"]})
	ns, err := e.wf.Notifications(ctx, rep, false, 0)
	if err != nil || len(ns) != 1 || ns[0].Kind != "cc" {
		t.Errorf("rep's notifications: %+v %v", ns, err)
	}

	// a small discount skips HQ and promotes a normal customer to vip
	c2, err := e.svc.CreateRecord(ctx, seller, "shop", "customer", map[string]any{"name": "李四", "phone": "13912343333", "discount": 0.15, "rep": rep.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	approve(head, workflow.TaskInput{})
	got, err = e.store.FindRecordByID(ctx, "shop", "customer", c2.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "small discount", []any{engine.StatusApproved, "vip"}, []any{got.Status, got.Data["level"]})
	// no discount: no workflow
	c3, err := e.svc.CreateRecord(ctx, seller, "shop", "customer", map[string]any{"name": "张三", "phone": "13912344444"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "no discount", engine.StatusActive, c3.Status)
	// the manager node's timer: remind after 4h, escalate to HQ after 24h
	c4, err := e.svc.CreateRecord(ctx, seller, "shop", "customer", map[string]any{"name": "赵六", "phone": "13912345555", "discount": 0.12})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(24 * time.Hour)
	e.runDue(t, true)
	var open []string
	l, _ := e.wf.Tasks(ctx, hq1, workflow.TaskQuery{Status: "open"})
	for _, tk := range l.Items {
		open = append(open, tk.Record)
	}
	diff(t, "escalated to HQ", []string{c4.ID}, open)
}

func readShop(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
