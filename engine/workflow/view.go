package workflow

import (
	"context"
	"fmt"
	"slices"
	"time"

	"formwork/engine"
)

// returnable lists the approval nodes a task at node may be returned to:
// visited approval nodes other than node itself, the default target
// (previousApproval) first, then the others latest visit first.
func (tx *wfTx) returnable(node string) []NodeRef {
	out := []NodeRef{}
	seen := map[string]bool{node: true}
	add := func(key string) {
		if key == "" || seen[key] {
			return
		}
		path := pathOf(tx.wf, key)
		if path == nil {
			return
		}
		n := nodeAt(tx.wf, path)
		if n.Type != engine.NodeApproval {
			return
		}
		seen[key] = true
		out = append(out, NodeRef{Key: key, Name: n.Name})
	}
	if path := pathOf(tx.wf, node); path != nil {
		add(tx.previousApproval(path))
	}
	for i := len(tx.inst.Steps) - 1; i >= 0; i-- {
		if s := tx.inst.Steps[i]; s.Kind == "task" {
			add(s.Node)
		}
	}
	return out
}

// nodeFormView is the task's form as the node shows it: perms holds the
// node's permission of every field not hidden at the node.
func nodeFormView(tx *wfTx, perms map[string]string) *engine.FormView {
	f := tx.f
	fv := &engine.FormView{App: tx.inst.App, Key: f.Key, Version: tx.inst.FormVersion, Title: f.Title, Perms: perms, Form: f}
	for _, fd := range f.Fields {
		if perm, ok := perms[fd.Key]; ok {
			fv.Fields = append(fv.Fields, &engine.FieldView{Field: fd, Perm: perm})
		}
	}
	for _, sec := range f.Layout {
		ns := sec
		ns.Fields = nil
		for _, k := range sec.Fields {
			if _, ok := perms[k]; ok {
				ns.Fields = append(ns.Fields, k)
			}
		}
		if len(ns.Fields) > 0 {
			fv.Layout = append(fv.Layout, ns)
		}
	}
	return fv
}

// ActiveNode is an approval node of a running workflow that waits for
// decisions, with who is to decide.
type ActiveNode struct {
	Instance     string       `json:"instance"`
	Workflow     string       `json:"workflow"`
	WorkflowName engine.Text  `json:"workflow_name"`
	Node         string       `json:"node"`
	NodeName     *engine.Text `json:"node_name,omitempty"`
	Mode         string       `json:"mode"`
	Pending      []string     `json:"pending"`          // users holding an open task
	Queued       []string     `json:"queued,omitempty"` // sequence mode: still to come, in order
	DueAt        *time.Time   `json:"due_at,omitempty"`
}

// RecordFlow is the workflow side of a record's page: its timeline, the
// nodes now waiting and for whom, the viewer's own open tasks on it and
// whether the viewer may withdraw it.
type RecordFlow struct {
	Timeline    []TimelineEntry `json:"timeline"`
	Active      []ActiveNode    `json:"active"`
	MyTasks     []*Task         `json:"my_tasks"`
	CanWithdraw bool            `json:"can_withdraw"`
	Instances   int             `json:"instances"` // how many workflow runs the record had
	Status      string          `json:"status"`    // the latest run's status, "" when none
}

// RecordFlow returns the record's workflow view for p, who must be able
// to see its timeline (see Timeline); ENOTFOUND otherwise.
func (w *Runtime) RecordFlow(ctx context.Context, p *engine.Principal, app, form, recordID string) (*RecordFlow, error) {
	tl, err := w.Timeline(ctx, p, app, form, recordID)
	if err != nil {
		return nil, err
	}
	all, err := w.instancesOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	out := &RecordFlow{Timeline: tl, Active: []ActiveNode{}, MyTasks: []*Task{}}
	for _, in := range all {
		if in.App != app || in.Form != form {
			continue
		}
		out.Instances++
		out.Status = in.Status
		if in.Status != InstanceRunning {
			continue
		}
		if in.Submitter == p.User.ID && !in.Acted {
			out.CanWithdraw = true
		}
		var wf *engine.Workflow
		if b, _, err := w.svc.Bundle(ctx, in.App, in.FormVersion); err == nil {
			wf = b.Workflow(in.Workflow)
		}
		docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "instance:" + in.ID + "|open"})
		if err != nil {
			return nil, fmt.Errorf("record flow: tasks: %w", err)
		}
		pending := map[int][]string{}
		for _, d := range docs {
			t, err := taskFromDoc(d)
			if err != nil {
				return nil, err
			}
			pending[t.Activation] = append(pending[t.Activation], t.Assignee)
			if t.Assignee == p.User.ID {
				out.MyTasks = append(out.MyTasks, t)
			}
		}
		for _, a := range in.Active {
			an := ActiveNode{Instance: in.ID, Workflow: in.Workflow, Node: a.Node, Mode: a.Mode, Pending: pending[a.Seq],
				Queued: slices.Clone(a.Queue), DueAt: a.DueAt}
			if an.Pending == nil {
				an.Pending = []string{}
			}
			if wf != nil {
				an.WorkflowName = wf.Name
				if path := pathOf(wf, a.Node); path != nil {
					an.NodeName = nodeAt(wf, path).Name
				}
			}
			out.Active = append(out.Active, an)
		}
	}
	return out, nil
}

// FormTitle returns the title of a form of an app's current version (the
// key when the app or form is gone), for task lists: an approver may hold
// tasks on forms none of their roles reaches.
func (w *Runtime) FormTitle(ctx context.Context, app, form string) engine.Text {
	if b, _, err := w.svc.Bundle(ctx, app, 0); err == nil {
		if f := b.Form(form); f != nil {
			return f.Title
		}
	}
	return engine.Text{Zh: form, En: form}
}
