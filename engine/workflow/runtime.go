package workflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"formwork/engine"
)

// Options tune the workflow runtime; zero values pick the defaults.
type Options struct {
	Plugins  *engine.PluginRegistry // action and channel plugins; default empty
	Channels []string               // plugins every notification also goes out on (e.g. "email")
	// MaxRetries bounds how often an action is retried after losing an
	// optimistic-concurrency race; default 8.
	MaxRetries int
}

// Runtime is the approval runtime. It starts workflows inside record
// writes (a RecordHook), runs every transition as one atomic Apply (the
// instance at its expected version, tasks, the record's revision, audit
// events, notifications and outbox jobs) and serves the task actions and
// the inbox queries. Background jobs (timers, plugin calls, deliveries)
// reach it through HandleJob.
type Runtime struct {
	svc     *engine.Service
	store   engine.Store
	org     *engine.Org
	now     func() time.Time
	plugins *engine.PluginRegistry
	opt     Options

	mu    sync.Mutex
	progs map[progKey]*engine.Program
}

type progKey struct {
	f    *engine.Form
	src  string
	want string
}

// New returns the runtime over svc and registers its record hook;
// clock gives the current time (the service's clock when nil). Call it once
// per Service, before serving requests.
func New(svc *engine.Service, clock func() time.Time, opt Options) *Runtime {
	if clock == nil {
		clock = svc.Now
	}
	if opt.Plugins == nil {
		opt.Plugins = engine.NewPluginRegistry()
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 8
	}
	w := &Runtime{svc: svc, store: svc.Store(), org: svc.Org(), now: clock, plugins: opt.Plugins, opt: opt, progs: map[progKey]*engine.Program{}}
	svc.AddRecordHook(w.onRecord)
	svc.AddAlertHook(w.onAlert)           // alert_notify.go
	svc.AddRecordShareHook(w.ccShare)     // cc_share.go
	opt.Plugins.Register(grantPlugin{w})  // grant_request.go
	opt.Plugins.Register(exportPlugin{w}) // export_request.go
	return w
}

// JobTypes lists the job types HandleJob serves (see queue.Register).
func (w *Runtime) JobTypes() []string { return JobTypes() }

// Plugins returns the runtime's plugin registry.
func (w *Runtime) Plugins() *engine.PluginRegistry { return w.plugins }

// program compiles (once) an expression of a workflow against its form.
func (w *Runtime) program(cf *engine.CompiledForm, src, want string) (*engine.Program, error) {
	k := progKey{cf.Form, src, want}
	w.mu.Lock()
	p := w.progs[k]
	w.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := cf.Program(src, want)
	if err != nil {
		return nil, fmt.Errorf("workflow expression %q: %w", src, err)
	}
	w.mu.Lock()
	w.progs[k] = p
	w.mu.Unlock()
	return p, nil
}

// eval runs an expression over a record as its submitter sees it.
func (w *Runtime) eval(cf *engine.CompiledForm, src, want string, rec *engine.Record, user engine.UserEnv, now time.Time) (any, error) {
	p, err := w.program(cf, src, want)
	if err != nil {
		return nil, err
	}
	out, err := p.Eval(rec, user, now)
	if err != nil {
		return nil, fmt.Errorf("workflow expression %q: %w", src, err)
	}
	return out, nil
}

// fieldValue runs an action node's expression for fd over a record and
// converts the result to the value stored in fd.
func (w *Runtime) fieldValue(cf *engine.CompiledForm, src string, fd *engine.Field, rec *engine.Record, user engine.UserEnv, now time.Time) (any, error) {
	p, err := w.program(cf, src, fd.Type)
	if err != nil {
		return nil, err
	}
	v, err := p.FieldValue(rec, user, now, fd)
	if err != nil {
		return nil, fmt.Errorf("workflow expression %q: %w", src, err)
	}
	return v, nil
}

func (w *Runtime) evalBool(cf *engine.CompiledForm, src string, rec *engine.Record, user engine.UserEnv, now time.Time) (bool, error) {
	if src == "" {
		return true, nil
	}
	out, err := w.eval(cf, src, "boolean", rec, user, now)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// onRecord is the record hook: it starts the first workflow of the form
// whose trigger matches, in the same Change as the record write.
func (w *Runtime) onRecord(ctx context.Context, ev *engine.RecordEvent, ch *engine.Change) error {
	if ev.Op != engine.WriteCreate && ev.Op != engine.WriteUpdate {
		return nil
	}
	if ev.Before != nil && ev.Before.Status == engine.StatusInReview {
		return nil // an administrator's edit during review does not restart it
	}
	for _, wf := range ev.Bundle.Workflows {
		if wf.Form != ev.Form.Key || !slices.Contains(wf.Trigger.On, string(ev.Op)) {
			continue
		}
		cf := ev.Bundle.Compiled(ev.Form.Key)
		var user engine.UserEnv
		if ev.Principal != nil {
			user = engine.UserEnvFor(ev.Principal.User, ev.Bundle.App.Key)
		}
		ok, err := w.evalBool(cf, wf.Trigger.When, ev.After, user, w.now())
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if ev.Op == engine.WriteUpdate {
			running, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindWorkflowInstance, Tag: "record:" + ev.After.ID + "|" + InstanceRunning, Limit: 1})
			if err != nil {
				return fmt.Errorf("workflow trigger: %w", err)
			}
			if len(running) > 0 {
				return nil
			}
		}
		return w.start(ctx, ev, wf, ch)
	}
	return nil
}

// start begins an instance of wf on the record being written by ev.
func (w *Runtime) start(ctx context.Context, ev *engine.RecordEvent, wf *engine.Workflow, ch *engine.Change) error {
	now := w.now()
	sub := ev.Principal.User
	in := &Instance{ID: engine.NewID(now), App: ev.Bundle.App.Key, Form: ev.Form.Key, FormVersion: ev.After.FormVersion, Workflow: wf.Key,
		Record: ev.After.ID, Submitter: sub.ID, SubmitterUnit: sub.Unit, Status: InstanceRunning, StartedAt: now, Joins: map[string]int{}}
	tx := &wfTx{w: w, ctx: ctx, now: now, b: ev.Bundle, f: ev.Form, cf: ev.Bundle.Compiled(ev.Form.Key), wf: wf, inst: in, rec: ev.After,
		inHook: true, ch: ch, actor: ev.Principal, tasks: map[string]*Task{}, dirty: map[string]bool{}, submitter: sub}
	ev.After.Status = engine.StatusInReview
	tx.step(Step{Kind: "start", Actor: sub.ID})
	tx.audit("workflow.start", "", nil)
	if len(wf.Nodes) == 0 {
		tx.finish(InstanceApproved, "")
	} else if err := tx.enter([]int{0}); err != nil {
		return err
	}
	return tx.flush()
}

// wfTx is one transition being built: everything it changes is written by
// one Apply at the end (or, inside the record hook, added to the record's
// own Change).
type wfTx struct {
	w         *Runtime
	ctx       context.Context
	now       time.Time
	b         *engine.Bundle
	f         *engine.Form
	cf        *engine.CompiledForm
	wf        *engine.Workflow
	inst      *Instance
	rec       *engine.Record
	recVer    int64
	recDirty  bool
	recFields []string
	inHook    bool
	ch        *engine.Change
	actor     *engine.Principal
	submitter *engine.User
	tasks     map[string]*Task // loaded open tasks and new tasks, by id
	dirty     map[string]bool  // task ids to write
	order     []string         // task ids in creation order, for stable writes
	jobID     string           // the outbox job this transition completes
}

func (tx *wfTx) actorID() string { return tx.actor.Actor() }

func (tx *wfTx) step(s Step) {
	s.At = tx.now
	tx.inst.Steps = append(tx.inst.Steps, s)
}

func (tx *wfTx) audit(action, object string, detail map[string]any) {
	ev := &engine.AuditEvent{Time: tx.now, Actor: tx.actorID(), Action: action, App: tx.inst.App, Form: tx.inst.Form, Object: tx.inst.Record, Result: engine.ResultOK}
	if tx.actor != nil {
		ev.IP = tx.actor.IP
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["instance"] = tx.inst.ID
	if object != "" {
		detail["task"] = object
	}
	ev.Detail = engine.MustJSON(detail)
	tx.ch.Audit = append(tx.ch.Audit, ev)
}

func (tx *wfTx) putTask(t *Task) {
	if _, ok := tx.tasks[t.ID]; !ok {
		tx.order = append(tx.order, t.ID)
	}
	tx.tasks[t.ID] = t
	tx.dirty[t.ID] = true
}

// openTasks returns the open tasks of an activation (all activations when seq < 0).
func (tx *wfTx) openTasks(seq int) []*Task {
	var out []*Task
	for _, id := range tx.order {
		t := tx.tasks[id]
		if t.Status == TaskOpen && (seq < 0 || t.Activation == seq) {
			out = append(out, t)
		}
	}
	return out
}

func (tx *wfTx) closeTask(t *Task, status, comment string) {
	t.Status = status
	at := tx.now
	t.DoneAt = &at
	if comment != "" {
		t.Comment = comment
	}
	tx.putTask(t)
}

func (tx *wfTx) newTask(act *Activation, n *engine.Node, user string, escalated bool, from string) *Task {
	t := &Task{ID: engine.NewID(tx.now), Instance: tx.inst.ID, App: tx.inst.App, Form: tx.inst.Form, Record: tx.inst.Record, Workflow: tx.wf.Key,
		WorkflowNm: tx.wf.Name, Node: n.Key, NodeName: n.Name, Activation: act.Seq, Assignee: user, Submitter: tx.inst.Submitter,
		Status: TaskOpen, CreatedAt: tx.now, DueAt: act.DueAt, Escalated: escalated, From: from}
	tx.putTask(t)
	tx.notify(user, "task", engine.Text{Zh: "待审批：" + tx.wf.Name.Zh, En: "To approve: " + tx.wf.Name.En}, t.ID)
	return t
}

func (tx *wfTx) notify(user, kind string, title engine.Text, task string) {
	if user == "" {
		return
	}
	n := &Notification{ID: engine.NewID(tx.now), User: user, Kind: kind, Title: title, App: tx.inst.App, Form: tx.inst.Form, Record: tx.inst.Record,
		Task: task, Instance: tx.inst.ID, CreatedAt: tx.now}
	tx.ch.Docs = append(tx.ch.Docs, engine.DocWrite{Doc: notificationDoc(n, tx.now)})
	tx.ch.Outbox = append(tx.ch.Outbox, tx.w.deliveries(n, tx.now)...)
}

// deliveries are the jobs that send n on every configured channel.
func (w *Runtime) deliveries(n *Notification, now time.Time) []engine.OutboxJob {
	jobs := make([]engine.OutboxJob, 0, len(w.opt.Channels))
	for _, c := range w.opt.Channels {
		jobs = append(jobs, engine.OutboxJob{ID: "notify-" + n.ID + "-" + c, Type: JobNotifyDeliver,
			Payload: engine.MustJSON(deliverPayload{Notification: n.ID, Channel: c}), RunAt: now.UTC(), CreatedAt: now.UTC()})
	}
	return jobs
}

type deliverPayload struct {
	Notification string `json:"notification"`
	Channel      string `json:"channel"`
}

// timerPayload names the activation a timer belongs to.
type timerPayload struct {
	Instance   string `json:"instance"`
	Node       string `json:"node"`
	Activation int    `json:"activation"`
}

// timerID is the unique job (and queue task) id of a timer.
func timerID(inst, node string, seq int, kind string) string {
	return "wf-" + inst + "-" + node + "-" + strconv.Itoa(seq) + "-" + kind
}

// flush adds everything the transition changed to its Change.
func (tx *wfTx) flush() error {
	ch := tx.ch
	expect := tx.inst.Version
	ch.Docs = append(ch.Docs, engine.DocWrite{Doc: instanceDoc(tx.inst, tx.now), ExpectVersion: expect})
	for _, id := range tx.order {
		if !tx.dirty[id] {
			continue
		}
		t := tx.tasks[id]
		ch.Docs = append(ch.Docs, engine.DocWrite{Doc: taskDoc(t, tx.now), ExpectVersion: t.Version})
	}
	if !tx.inHook && (tx.recDirty) {
		tx.rec.UpdatedBy = tx.actorID()
		ch.Records = append(ch.Records, engine.RecordWrite{Op: engine.WriteUpdate, Record: tx.rec, ExpectVersion: tx.recVer, Actor: tx.actorID(), At: tx.now})
	}
	if tx.jobID != "" {
		ch.OutboxDone = append(ch.OutboxDone, tx.jobID)
	}
	return nil
}

// ---- navigation over the node tree ----

// nodeAt returns the node at a path: top-level index, then pairs of
// branch index and node index inside condition and parallel nodes.
func nodeAt(wf *engine.Workflow, path []int) *engine.Node {
	nodes := wf.Nodes
	var n *engine.Node
	for i := 0; i < len(path); i += 2 {
		if path[i] >= len(nodes) {
			return nil
		}
		n = nodes[path[i]]
		if i+1 < len(path) {
			if path[i+1] >= len(n.Branches) {
				return nil
			}
			nodes = n.Branches[path[i+1]].Nodes
		}
	}
	return n
}

// seqOf returns the node list holding the node at path.
func seqOf(wf *engine.Workflow, path []int) []*engine.Node {
	if len(path) == 1 {
		return wf.Nodes
	}
	parent := nodeAt(wf, path[:len(path)-2])
	return parent.Branches[path[len(path)-2]].Nodes
}

// pathOf finds a node by key.
func pathOf(wf *engine.Workflow, key string) []int {
	var walk func(nodes []*engine.Node, prefix []int) []int
	walk = func(nodes []*engine.Node, prefix []int) []int {
		for i, n := range nodes {
			p := append(slices.Clone(prefix), i)
			if n.Key == key {
				return p
			}
			for b, br := range n.Branches {
				if r := walk(br.Nodes, append(slices.Clone(p), b)); r != nil {
					return r
				}
			}
		}
		return nil
	}
	return walk(wf.Nodes, nil)
}

func (tx *wfTx) nodeName(n *engine.Node) string {
	if n.Name != nil {
		return n.Name.En
	}
	return n.Key
}

// enter runs the node at path: an approval node waits for decisions; the
// other types do their work and move on.
func (tx *wfTx) enter(path []int) error {
	if tx.inst.Status != InstanceRunning {
		return nil
	}
	n := nodeAt(tx.wf, path)
	if n == nil {
		return fmt.Errorf("workflow %s: no node at %v", tx.wf.Key, path)
	}
	switch n.Type {
	case engine.NodeApproval:
		return tx.enterApproval(n, path)
	case engine.NodeCondition:
		i, err := tx.branch(n)
		if err != nil {
			return err
		}
		tx.step(Step{Kind: "condition", Node: n.Key, Detail: map[string]any{"branch": i}})
		if i < 0 || len(n.Branches[i].Nodes) == 0 {
			return tx.next(path)
		}
		return tx.enter(append(slices.Clone(path), i, 0))
	case engine.NodeParallel:
		var live []int
		for i, br := range n.Branches {
			if len(br.Nodes) > 0 {
				live = append(live, i)
			}
		}
		if len(live) == 0 {
			return tx.next(path)
		}
		if tx.inst.Joins == nil {
			tx.inst.Joins = map[string]int{}
		}
		tx.inst.Joins[n.Key] = len(live)
		tx.step(Step{Kind: "parallel", Node: n.Key, Detail: map[string]any{"branches": len(live)}})
		for _, i := range live {
			if err := tx.enter(append(slices.Clone(path), i, 0)); err != nil {
				return err
			}
		}
		return nil
	case engine.NodeCC:
		users, err := tx.w.resolve(tx.ctx, tx, n.To)
		if err != nil {
			return err
		}
		for _, u := range users {
			tx.notify(u, "cc", engine.Text{Zh: "抄送：" + tx.wf.Name.Zh, En: "For your information: " + tx.wf.Name.En}, "")
		}
		tx.step(Step{Kind: "cc", Node: n.Key, Users: users})
		return tx.next(path)
	case engine.NodeAction:
		if err := tx.runAction(n); err != nil {
			return err
		}
		return tx.next(path)
	case engine.NodeEnd:
		tx.step(Step{Kind: "end", Node: n.Key})
		tx.finish(InstanceApproved, "")
		return nil
	}
	return fmt.Errorf("workflow %s: unknown node type %q", tx.wf.Key, n.Type)
}

// branch is the index of the first branch of condition node n that holds
// for the record as its submitter sees it (an else branch always does),
// -1 when none does.
func (tx *wfTx) branch(n *engine.Node) (int, error) {
	user := engine.UserEnvFor(tx.submitter, tx.inst.App)
	for i, br := range n.Branches {
		ok := br.Else
		if !ok {
			var err error
			if ok, err = tx.w.evalBool(tx.cf, br.When, tx.rec, user, tx.now); err != nil {
				return 0, err
			}
		}
		if ok {
			return i, nil
		}
	}
	return -1, nil
}

// next moves on from the node at path once it is done.
func (tx *wfTx) next(path []int) error {
	if tx.inst.Status != InstanceRunning {
		return nil
	}
	nodes := seqOf(tx.wf, path)
	last := path[len(path)-1]
	if last+1 < len(nodes) {
		p := slices.Clone(path)
		p[len(p)-1]++
		return tx.enter(p)
	}
	if len(path) == 1 {
		tx.finish(InstanceApproved, "")
		return nil
	}
	parentPath := path[:len(path)-2]
	parent := nodeAt(tx.wf, parentPath)
	if parent.Type == engine.NodeParallel {
		if tx.inst.Joins == nil {
			tx.inst.Joins = map[string]int{}
		}
		tx.inst.Joins[parent.Key]--
		if tx.inst.Joins[parent.Key] > 0 {
			return nil // other branches still run
		}
		delete(tx.inst.Joins, parent.Key)
	}
	return tx.next(slices.Clone(parentPath))
}

// enterApproval creates an activation and its first tasks.
func (tx *wfTx) enterApproval(n *engine.Node, path []int) error {
	users, err := tx.w.resolve(tx.ctx, tx, n.Assignees)
	if err != nil {
		return err
	}
	users = tx.withoutSubmitter(n, users, "assignee")
	escalated := false
	if len(users) == 0 {
		users, err = tx.w.admins(tx.ctx)
		if err != nil {
			return err
		}
		users = tx.withoutSubmitter(n, users, "administrator")
		if len(users) == 0 {
			return engine.Errorf(engine.ECONFLICT, engine.Tf("节点 %s 没有审批人，也没有系统管理员可以接手", "node %s has no approver and no administrator to take over", n.Key))
		}
		escalated = true
		tx.step(Step{Kind: "escalate", Node: n.Key, Users: users, Detail: map[string]any{"reason": "no assignee"}})
		tx.audit("workflow.escalate", "", map[string]any{"node": n.Key, "reason": "no assignee", "to": users})
	}
	tx.inst.Seq++
	mode := n.Mode
	if mode == "" {
		mode = ModeAny
	}
	act := &Activation{Seq: tx.inst.Seq, Node: n.Key, Mode: mode}
	if t := n.Timeout; t != nil {
		pl := engine.MustJSON(timerPayload{Instance: tx.inst.ID, Node: n.Key, Activation: act.Seq})
		if t.Remind != "" {
			d, err := engine.ParseISODuration(t.Remind)
			if err == nil {
				at := tx.now.Add(d).UTC()
				act.RemindAt = &at
				tx.ch.Outbox = append(tx.ch.Outbox, engine.OutboxJob{ID: timerID(tx.inst.ID, n.Key, act.Seq, "remind"), Type: JobWorkflowRemind, Payload: pl, RunAt: at, CreatedAt: tx.now.UTC()})
			}
		}
		if t.After != "" {
			d, err := engine.ParseISODuration(t.After)
			if err == nil {
				at := tx.now.Add(d).UTC()
				act.DueAt = &at
				tx.ch.Outbox = append(tx.ch.Outbox, engine.OutboxJob{ID: timerID(tx.inst.ID, n.Key, act.Seq, "timeout"), Type: JobWorkflowTimeout, Payload: pl, RunAt: at, CreatedAt: tx.now.UTC()})
			}
		}
	}
	tx.inst.Active = append(tx.inst.Active, act)
	first := users
	if mode == ModeSequence {
		first, act.Queue = users[:1], slices.Clone(users[1:])
	}
	for _, u := range first {
		tx.newTask(act, n, u, escalated, "")
	}
	tx.step(Step{Kind: "task", Node: n.Key, Users: first, Detail: map[string]any{"mode": mode, "activation": act.Seq}})
	return nil
}

// completeActivation closes an approval node and moves on.
func (tx *wfTx) completeActivation(act *Activation) error {
	for _, t := range tx.openTasks(act.Seq) {
		tx.closeTask(t, TaskCancelled, "")
	}
	tx.inst.dropActivation(act.Seq)
	path := pathOf(tx.wf, act.Node)
	if path == nil {
		return fmt.Errorf("workflow %s: node %s vanished", tx.wf.Key, act.Node)
	}
	return tx.next(path)
}

// finish ends the instance with a final status and sets the record's.
func (tx *wfTx) finish(status, comment string) {
	taskStatus := TaskCancelled
	if status == InstanceWithdrawn {
		taskStatus = TaskWithdrawn
	}
	for _, t := range tx.openTasks(-1) {
		tx.closeTask(t, taskStatus, "")
	}
	tx.inst.Active = nil
	tx.inst.Joins = nil
	tx.inst.Status = status
	at := tx.now
	tx.inst.EndedAt = &at
	tx.rec.Status = status
	tx.recDirty = true
	tx.step(Step{Kind: status, Comment: comment})
	tx.audit("workflow."+status, "", nil)
	tx.notify(tx.inst.Submitter, "result", engine.Text{Zh: tx.wf.Name.Zh + "：" + statusText(status).Zh, En: tx.wf.Name.En + ": " + statusText(status).En}, "")
}

func statusText(s string) engine.Text {
	switch s {
	case engine.StatusApproved:
		return engine.T("已通过", "approved")
	case engine.StatusRejected:
		return engine.T("已驳回", "rejected")
	case engine.StatusWithdrawn:
		return engine.T("已撤回", "withdrawn")
	}
	return engine.T(s, s)
}

// runAction applies an action node: set fields by expressions (a revision
// like any change, validated by the form's rules) and/or a plugin call
// through the outbox.
func (tx *wfTx) runAction(n *engine.Node) error {
	if len(n.Set) > 0 {
		data := engine.CloneData(tx.rec.Data)
		if data == nil {
			data = map[string]any{}
		}
		keys := make([]string, 0, len(n.Set))
		for k := range n.Set {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		user := engine.UserEnvFor(tx.submitter, tx.inst.App)
		var failed error
		for _, k := range keys {
			fd := tx.f.Field(k)
			if fd == nil {
				continue
			}
			v, err := tx.w.fieldValue(tx.cf, n.Set[k], fd, tx.rec, user, tx.now)
			if err != nil {
				failed = err
				break
			}
			if v != nil {
				data[k] = v
			} else {
				delete(data, k)
			}
		}
		var res *engine.EvalResult
		if failed == nil {
			res = tx.w.svc.EvaluateRules("workflow", tx.cf, engine.EvalInput{Data: data, Prev: tx.rec.Data, Now: tx.now, User: user, System: engine.SystemOf(tx.rec), TrustReadonly: true, NoFieldMap: true, InPlace: true})
			if !res.OK() {
				failed = engine.Invalid(res.Errors...)
			}
		}
		if failed != nil {
			// the record stays as it was; the failure is on the timeline and in the audit log
			tx.step(Step{Kind: "set_failed", Node: n.Key, Detail: map[string]any{"error": failed.Error()}})
			ev := &engine.AuditEvent{Time: tx.now, Actor: engine.SystemActor, Action: "workflow.set", App: tx.inst.App, Form: tx.inst.Form, Object: tx.inst.Record,
				Result: engine.ResultFailed, Reason: failed.Error(), Detail: engine.MustJSON(map[string]any{"instance": tx.inst.ID, "node": n.Key})}
			tx.ch.Audit = append(tx.ch.Audit, ev)
		} else {
			changed := engine.DiffData(tx.rec.Data, res.Data)
			fields := make([]string, len(changed))
			for i, c := range changed {
				fields[i] = c.Field
			}
			tx.rec.Data = res.Data
			tx.recDirty = true
			tx.step(Step{Kind: "set", Node: n.Key, Detail: map[string]any{"fields": fields}})
			ev := &engine.AuditEvent{Time: tx.now, Actor: engine.SystemActor, Action: "workflow.set", App: tx.inst.App, Form: tx.inst.Form, Object: tx.inst.Record,
				Fields: fields, Result: engine.ResultOK, Detail: engine.MustJSON(map[string]any{"instance": tx.inst.ID, "node": n.Key})}
			tx.ch.Audit = append(tx.ch.Audit, ev)
		}
	}
	if n.Plugin != nil {
		id := "wf-" + tx.inst.ID + "-" + n.Key + "-" + strconv.Itoa(len(tx.inst.Steps)) + "-plugin"
		tx.ch.Outbox = append(tx.ch.Outbox, engine.OutboxJob{ID: id, Type: JobWorkflowPlugin,
			Payload: engine.MustJSON(pluginPayload{Instance: tx.inst.ID, Node: n.Key, Plugin: n.Plugin.Name, Config: n.Plugin.Config}), RunAt: tx.now.UTC(), CreatedAt: tx.now.UTC()})
		tx.step(Step{Kind: "plugin", Node: n.Key, Detail: map[string]any{"plugin": n.Plugin.Name, "job": id}})
	}
	return nil
}

type pluginPayload struct {
	Instance string         `json:"instance"`
	Node     string         `json:"node"`
	Plugin   string         `json:"plugin"`
	Config   map[string]any `json:"config,omitempty"`
}

// ---- loading and committing transitions outside the record hook ----

// load reads an instance with its open tasks, record and bundle into a
// new transition acting as p (nil: the system).
func (w *Runtime) load(ctx context.Context, instID string, p *engine.Principal) (*wfTx, error) {
	d, err := w.store.FindDoc(ctx, KindWorkflowInstance, instID)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, engine.Errorf(engine.ENOTFOUND, engine.T("审批流程不存在", "workflow instance not found"))
		}
		return nil, err
	}
	in, err := instanceFromDoc(d)
	if err != nil {
		return nil, err
	}
	b, _, err := w.svc.Bundle(ctx, in.App, in.FormVersion)
	if err != nil {
		return nil, err
	}
	wf := b.Workflow(in.Workflow)
	f := b.Form(in.Form)
	if wf == nil || f == nil {
		return nil, fmt.Errorf("workflow instance %s: workflow %s/%s missing from app version %d", in.ID, in.Form, in.Workflow, in.FormVersion)
	}
	rec, err := w.store.FindRecordByID(ctx, in.App, in.Form, in.Record, true)
	if err != nil {
		return nil, fmt.Errorf("workflow instance %s: record: %w", in.ID, err)
	}
	sub, err := w.org.FindUserByID(ctx, in.Submitter)
	if err != nil {
		sub = &engine.User{ID: in.Submitter, Unit: in.SubmitterUnit}
	}
	tx := &wfTx{w: w, ctx: ctx, now: w.now(), b: b, f: f, cf: b.Compiled(f.Key), wf: wf, inst: in, rec: rec, recVer: rec.Version,
		ch: &engine.Change{}, actor: p, submitter: sub, tasks: map[string]*Task{}, dirty: map[string]bool{}}
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "instance:" + in.ID + "|open"})
	if err != nil {
		return nil, fmt.Errorf("workflow instance %s: tasks: %w", in.ID, err)
	}
	for _, td := range docs {
		t, err := taskFromDoc(td)
		if err != nil {
			return nil, err
		}
		tx.tasks[t.ID] = t
		tx.order = append(tx.order, t.ID)
	}
	return tx, nil
}

// commit writes a transition built by load.
func (tx *wfTx) commit() error {
	if err := tx.flush(); err != nil {
		return err
	}
	_, err := tx.w.store.Apply(tx.ctx, tx.ch)
	return err
}

// transition loads an instance, lets fn change it and commits, retrying
// from a fresh read when another transition won the race.
func (w *Runtime) transition(ctx context.Context, instID string, p *engine.Principal, fn func(tx *wfTx) error) error {
	var err error
	for attempt := 0; attempt < w.opt.MaxRetries; attempt++ {
		var tx *wfTx
		tx, err = w.load(ctx, instID, p)
		if err != nil {
			return err
		}
		if err = fn(tx); err != nil {
			if _, ok := err.(errNoop); ok {
				return nil
			}
			return err
		}
		err = tx.commit()
		if err == nil || engine.ErrorCode(err) != engine.ECONFLICT {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return &engine.Error{Code: engine.ECONFLICT, Message: engine.T("审批正被他人同时处理，请重试", "someone else is acting on this approval; try again"), Err: err}
}

// errNoop ends a transition without writing anything (a stale timer, a
// duplicate delivery).
type errNoop struct{}

func (errNoop) Error() string { return "nothing to do" }
