package workflow

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"formwork/engine"
)

// TaskQuery selects a user's tasks.
type TaskQuery struct {
	Status string // "open", "done" or "" (both)
	App    string // optional filter
	Form   string // optional filter
	Limit  int    // default 100, at most 1000
}

// TaskList is a user's tasks, newest first.
type TaskList struct {
	Items []*Task `json:"items"`
	Open  int     `json:"open"`
	Done  int     `json:"done"`
}

func requireUser(p *engine.Principal) error {
	if p == nil || p.User == nil {
		return engine.Errorf(engine.EUNAUTHORIZED, engine.T("请先登录", "please log in"))
	}
	return nil
}

func (w *Runtime) tasksTagged(ctx context.Context, tag string) ([]*Task, error) {
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: tag})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := make([]*Task, 0, len(docs))
	for _, d := range docs {
		t, err := taskFromDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Tasks returns p's approval tasks (the inbox) with the open and done
// counts for the badge and tabs.
func (w *Runtime) Tasks(ctx context.Context, p *engine.Principal, q TaskQuery) (*TaskList, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	switch q.Status {
	case "", "open", "done":
	default:
		return nil, engine.Invalid(engine.FieldError{Field: "/status", Code: "enum", Message: engine.T("status 只能是 open 或 done", "status is open or done")})
	}
	open, err := w.tasksTagged(ctx, "assignee:"+p.User.ID+"|open")
	if err != nil {
		return nil, err
	}
	var items []*Task
	done := 0
	if q.Status == "open" {
		items = open
		n, err := w.store.CountDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "assignee:" + p.User.ID + "|done"})
		if err != nil {
			return nil, fmt.Errorf("count tasks: %w", err)
		}
		done = int(n)
	} else {
		closed, err := w.tasksTagged(ctx, "assignee:"+p.User.ID+"|done")
		if err != nil {
			return nil, err
		}
		done = len(closed)
		items = closed
		if q.Status == "" {
			items = append(items, open...)
			slices.SortFunc(items, func(a, b *Task) int { return strings.Compare(a.ID, b.ID) })
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	out := &TaskList{Items: []*Task{}, Open: len(open), Done: done}
	for i := len(items) - 1; i >= 0 && len(out.Items) < limit; i-- {
		t := items[i]
		if (q.App != "" && t.App != q.App) || (q.Form != "" && t.Form != q.Form) || !p.AllowsApp(t.App) {
			continue
		}
		out.Items = append(out.Items, t)
	}
	return out, nil
}

// OpenTaskCount returns how many open tasks p has (the inbox badge, on
// every page): a count in the store, no task read.
func (w *Runtime) OpenTaskCount(ctx context.Context, p *engine.Principal) (int, error) {
	if err := requireUser(p); err != nil {
		return 0, err
	}
	n, err := w.store.CountDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "assignee:" + p.User.ID + "|open"})
	if err != nil {
		return 0, fmt.Errorf("count tasks: %w", err)
	}
	return int(n), nil
}

// TaskDetail is one task as its assignee sees it: the task, the record as
// the node lets them see it, the permission per field and the history.
type TaskDetail struct {
	Task     *Task              `json:"task"`
	Record   *engine.RecordView `json:"record"`
	Fields   map[string]string  `json:"fields"` // field → hidden, masked, read or edit at this node
	Steps    []Step             `json:"steps"`
	Instance string             `json:"instance"`
	Status   string             `json:"status"`
	// Returnable lists the approval nodes already passed that a return
	// may go back to, latest first (the first is the default target).
	Returnable []NodeRef `json:"returnable"`
	// View is the form as this node shows it (hidden fields absent, each
	// field with the node's permission), for pages.
	View *engine.FormView `json:"-"`
	// Labels are how the member, unit and relation values the node shows
	// in full read (a person's name, a related record's display field as
	// the assignee may see it), by field key.
	Labels map[string]engine.Text `json:"labels,omitempty"`
}

// NodeRef names a workflow node.
type NodeRef struct {
	Key  string       `json:"key"`
	Name *engine.Text `json:"name,omitempty"`
}

// nodeFieldPerm is the permission a node grants on a field: its own entry,
// else its "*" entry, else read. A sensitive field (x-sensitive) is shown
// in full, or editable, only when the node names it: a "*" entry or the
// default shows it masked, so approving a discount does not reveal every
// customer's phone number to the approver.
func nodeFieldPerm(n *engine.Node, fd *engine.Field) string {
	if n != nil {
		if p, ok := n.Fields[fd.Key]; ok {
			return p
		}
	}
	p := engine.PermRead
	if n != nil {
		if star, ok := n.Fields["*"]; ok {
			p = star
		}
	}
	if fd.Sensitive != "" && (p == engine.PermRead || p == engine.PermEdit) {
		return engine.PermMasked
	}
	return p
}

// nodeView applies a node's field permissions (perm gives each field's)
// to a record's data: hidden fields absent, masked ones masked. It
// returns the visible fields' permissions and the data.
func nodeView(f *engine.Form, rec map[string]any, perm func(*engine.Field) string) (map[string]string, map[string]any) {
	perms := map[string]string{}
	data := map[string]any{}
	for _, fd := range f.Fields {
		p := perm(fd)
		if p == engine.PermHidden {
			continue
		}
		perms[fd.Key] = p
		v, ok := rec[fd.Key]
		switch {
		case !ok:
		case p == engine.PermMasked:
			data[fd.Key] = engine.Mask(fd.Sensitive, v)
		default:
			data[fd.Key] = v
		}
	}
	return perms, data
}

// pluginFieldPerm is what an action node's plugin call sends of a field.
// A node with field permissions sends as an approval step with them would
// show (nodeFieldPerm). A node without them sends the fields that are not
// sensitive and leaves the sensitive ones out: the receiver is outside
// the organisation, and even a masked value tells it part of one.
func pluginFieldPerm(n *engine.Node, fd *engine.Field) string {
	if n != nil && n.Fields != nil {
		return nodeFieldPerm(n, fd)
	}
	if fd.Sensitive != "" {
		return engine.PermHidden
	}
	return engine.PermRead
}

// Task returns one of p's tasks with its record. ENOTFOUND when the task
// is missing or not p's.
func (w *Runtime) Task(ctx context.Context, p *engine.Principal, id string) (*TaskDetail, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	d, err := w.store.FindDoc(ctx, KindTask, id)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, errTaskNotFound()
		}
		return nil, err
	}
	t, err := taskFromDoc(d)
	if err != nil {
		return nil, err
	}
	if t.Assignee != p.User.ID {
		return nil, errTaskNotFound()
	}
	if err := engine.CheckTokenApp(p, t.App); err != nil {
		return nil, err
	}
	tx, err := w.load(ctx, t.Instance, p)
	if err != nil {
		return nil, err
	}
	n := nodeAt(tx.wf, pathOf(tx.wf, t.Node))
	perms, data := nodeView(tx.f, tx.rec.Data, func(fd *engine.Field) string { return nodeFieldPerm(n, fd) })
	r := tx.rec
	rv := &engine.RecordView{ID: r.ID, App: r.App, Form: r.Form, Version: r.Version, Status: r.Status, Unit: r.Unit, Owner: r.Owner,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Data: data}
	if err := w.svc.WriteAudit(ctx, &engine.AuditEvent{Time: w.now(), Actor: p.User.ID, IP: p.IP, Action: "view", App: r.App, Form: r.Form, Object: r.ID,
		Result: engine.ResultOK, Reason: "task " + t.ID}); err != nil {
		return nil, err
	}
	labels, err := w.svc.LabelsAsShown(ctx, p, r.App, tx.f, []map[string]any{data}, func(key string) string {
		if p, ok := perms[key]; ok {
			return p
		}
		return engine.PermHidden
	})
	if err != nil {
		return nil, err
	}
	return &TaskDetail{Task: t, Record: rv, Fields: perms, Steps: tx.inst.Steps, Instance: tx.inst.ID, Status: tx.inst.Status,
		Returnable: tx.returnable(t.Node), View: nodeFormView(tx, perms), Labels: labels[0]}, nil
}

// TimelineEntry is one line of a record's timeline: a workflow step or a
// record change from the audit log.
type TimelineEntry struct {
	At       time.Time      `json:"at"`
	Kind     string         `json:"kind"` // a Step kind, or create, update, delete, restore
	Actor    string         `json:"actor,omitempty"`
	Workflow string         `json:"workflow,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Node     string         `json:"node,omitempty"`
	NodeName *engine.Text   `json:"node_name,omitempty"`
	Users    []string       `json:"users,omitempty"`
	Comment  string         `json:"comment,omitempty"`
	Fields   []string       `json:"fields,omitempty"`
	Detail   map[string]any `json:"detail,omitempty"`
	// Withheld says the entry also changed fields the viewer may not
	// see: they are left out of Fields (and of a set step's detail).
	Withheld bool `json:"withheld,omitempty"`
}

// Timeline returns every workflow step on a record and its changes from
// the audit log, oldest first. p must be able to read the record, or hold
// or have held a task on it, or have submitted it; otherwise ENOTFOUND.
// Changed fields are named only when p may see them (engine's
// VisibleFields); an entry that changed others says so with Withheld.
func (w *Runtime) Timeline(ctx context.Context, p *engine.Principal, app, form, recordID string) ([]TimelineEntry, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	insts, err := w.instancesOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, in := range insts {
		allowed = allowed || in.Submitter == p.User.ID
	}
	if !allowed {
		docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "record:" + recordID})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if t, err := taskFromDoc(d); err == nil && t.Assignee == p.User.ID {
				allowed = true
			}
		}
	}
	if !allowed {
		if _, err := w.svc.GetRecord(ctx, p, app, form, recordID); err != nil {
			return nil, err
		}
	}
	var out []TimelineEntry
	b, _, _ := w.svc.Bundle(ctx, app, 0)
	for _, in := range insts {
		if in.App != app || in.Form != form {
			continue
		}
		var wf *engine.Workflow
		if bb, _, err := w.svc.Bundle(ctx, in.App, in.FormVersion); err == nil {
			wf = bb.Workflow(in.Workflow)
		} else if b != nil {
			wf = b.Workflow(in.Workflow)
		}
		for _, s := range in.Steps {
			e := TimelineEntry{At: s.At, Kind: s.Kind, Actor: s.Actor, Workflow: in.Workflow, Instance: in.ID, Node: s.Node, Users: s.Users, Comment: s.Comment, Detail: s.Detail}
			if wf != nil && s.Node != "" {
				if path := pathOf(wf, s.Node); path != nil {
					e.NodeName = nodeAt(wf, path).Name
				}
			}
			out = append(out, e)
		}
	}
	page, err := w.store.FindAuditEvents(ctx, engine.AuditQuery{Object: recordID, Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, ev := range page.Items {
		if ev.App != app || ev.Form != form || ev.Result != engine.ResultOK {
			continue
		}
		switch ev.Action {
		case "create", "update", "delete", "restore":
			out = append(out, TimelineEntry{At: ev.Time, Kind: ev.Action, Actor: ev.Actor, Fields: ev.Fields})
		}
	}
	if err := w.withholdFields(ctx, p, app, form, out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	if out == nil {
		out = []TimelineEntry{}
	}
	return out, nil
}

// withholdFields removes from the entries the names of fields p may not
// see: the changed fields of a record change and of a set step.
func (w *Runtime) withholdFields(ctx context.Context, p *engine.Principal, app, form string, tl []TimelineEntry) error {
	seen, err := w.svc.VisibleFields(ctx, p, app, form)
	if err != nil {
		return err
	}
	keep := func(keys []string) ([]string, bool) {
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			if _, ok := seen[k]; ok {
				out = append(out, k)
			}
		}
		return out, len(out) < len(keys)
	}
	for i := range tl {
		e := &tl[i]
		if len(e.Fields) > 0 {
			e.Fields, e.Withheld = keep(e.Fields)
		}
		if e.Kind != "set" || e.Detail == nil {
			continue
		}
		var keys []string
		switch fs := e.Detail["fields"].(type) {
		case []string:
			keys = fs
		case []any:
			for _, k := range fs {
				if ks, ok := k.(string); ok {
					keys = append(keys, ks)
				}
			}
		default:
			continue
		}
		d := maps.Clone(e.Detail)
		var withheld bool
		d["fields"], withheld = keep(keys)
		e.Detail, e.Withheld = d, e.Withheld || withheld
	}
	return nil
}

// instancesOf returns a record's workflow instances, oldest first.
func (w *Runtime) instancesOf(ctx context.Context, recordID string) ([]*Instance, error) {
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindWorkflowInstance, Tag: "record:" + recordID})
	if err != nil {
		return nil, fmt.Errorf("workflow instances of %s: %w", recordID, err)
	}
	out := make([]*Instance, 0, len(docs))
	for _, d := range docs {
		in, err := instanceFromDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Instances returns a record's workflow instances, oldest first, for
// those who may see its timeline (see Timeline).
func (w *Runtime) Instances(ctx context.Context, p *engine.Principal, app, form, recordID string) ([]*Instance, error) {
	if _, err := w.Timeline(ctx, p, app, form, recordID); err != nil {
		return nil, err
	}
	all, err := w.instancesOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(in *Instance) bool { return in.App != app || in.Form != form }), nil
}

// Notifications returns p's notifications, newest first (only the unread
// ones with unreadOnly), at most limit (default 50).
func (w *Runtime) Notifications(ctx context.Context, p *engine.Principal, unreadOnly bool, limit int) ([]*Notification, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	tag := "user:" + p.User.ID
	if unreadOnly {
		tag += "|unread"
	}
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindNotification, Tag: tag})
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	if limit <= 0 {
		limit = 50
	}
	out := []*Notification{}
	for i := len(docs) - 1; i >= 0 && len(out) < limit; i-- {
		n, err := notificationFromDoc(docs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// UnreadCount returns how many unread notifications p has.
func (w *Runtime) UnreadCount(ctx context.Context, p *engine.Principal) (int, error) {
	if err := requireUser(p); err != nil {
		return 0, err
	}
	n, err := w.store.CountDocs(ctx, engine.DocQuery{Kind: KindNotification, Tag: "user:" + p.User.ID + "|unread"})
	if err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return int(n), nil
}

// MarkRead marks p's notifications read (all unread ones when ids is
// empty). Unknown ids and other users' notifications are ignored. A
// delivery recording a channel on one of them at the same moment makes it
// read them again and retry.
func (w *Runtime) MarkRead(ctx context.Context, p *engine.Principal, ids ...string) error {
	if err := requireUser(p); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < w.opt.MaxRetries; attempt++ {
		if err = w.markRead(ctx, p, ids); engine.ErrorCode(err) != engine.ECONFLICT {
			return err
		}
	}
	return err
}

func (w *Runtime) markRead(ctx context.Context, p *engine.Principal, ids []string) error {
	var docs []*engine.Doc
	if len(ids) == 0 {
		var err error
		docs, err = w.store.FindDocs(ctx, engine.DocQuery{Kind: KindNotification, Tag: "user:" + p.User.ID + "|unread"})
		if err != nil {
			return err
		}
	} else {
		for _, id := range ids {
			d, err := w.store.FindDoc(ctx, KindNotification, strings.TrimSpace(id))
			if err == nil {
				docs = append(docs, d)
			} else if engine.ErrorCode(err) != engine.ENOTFOUND {
				return err
			}
		}
	}
	now := w.now()
	ch := &engine.Change{}
	for _, d := range docs {
		n, err := notificationFromDoc(d)
		if err != nil {
			return err
		}
		if n.User != p.User.ID || n.Read {
			continue
		}
		n.Read = true
		ch.Docs = append(ch.Docs, engine.DocWrite{Doc: notificationDoc(n, now), ExpectVersion: n.Version})
	}
	if len(ch.Docs) == 0 {
		return nil
	}
	_, err := w.store.Apply(ctx, ch)
	return err
}
