package workflow

import (
	"context"
	"fmt"
	"strconv"

	"formwork/engine"
)

// TaskSummary is what an inbox line shows of a task's record, as the
// task's step shows the record (hidden fields absent, masked ones masked):
// a title — the first serial or text value — and an amount — the first
// money value — so an approver knows what "approve selected" approves.
type TaskSummary struct {
	Title       string        `json:"title,omitempty"`
	Amount      any           `json:"amount,omitempty"`
	AmountField *engine.Field `json:"-"`
}

// TaskSummaries returns the summaries of p's tasks among tasks, by task
// id (tasks of others are left out). One audit event per form names how
// many records the inbox showed.
func (w *Runtime) TaskSummaries(ctx context.Context, p *engine.Principal, tasks []*Task) (map[string]TaskSummary, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	out := map[string]TaskSummary{}
	bundles := map[string]*engine.Bundle{}
	shown := map[[2]string]int{}
	for _, t := range tasks {
		if t.Assignee != p.User.ID {
			continue
		}
		s, ok, err := w.taskSummary(ctx, t, bundles)
		if err != nil {
			return nil, err
		}
		if ok {
			out[t.ID] = s
			shown[[2]string{t.App, t.Form}]++
		}
	}
	for k, n := range shown {
		ev := w.svc.Event(p, "list", k[0], k[1], "", nil, engine.ResultOK, "task inbox: "+strconv.Itoa(n)+" records")
		if err := w.svc.WriteAudit(ctx, ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// taskSummary reads one task's record as its step shows it; ok is false
// when the instance or record is gone (the line then shows no summary).
func (w *Runtime) taskSummary(ctx context.Context, t *Task, bundles map[string]*engine.Bundle) (TaskSummary, bool, error) {
	d, err := w.store.FindDoc(ctx, KindWorkflowInstance, t.Instance)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return TaskSummary{}, false, nil
		}
		return TaskSummary{}, false, err
	}
	in, err := instanceFromDoc(d)
	if err != nil {
		return TaskSummary{}, false, err
	}
	key := in.App + "@" + strconv.Itoa(in.FormVersion)
	b := bundles[key]
	if b == nil {
		if b, _, err = w.svc.Bundle(ctx, in.App, in.FormVersion); err != nil {
			return TaskSummary{}, false, fmt.Errorf("task %s: %w", t.ID, err)
		}
		bundles[key] = b
	}
	wf, f := b.Workflow(in.Workflow), b.Form(in.Form)
	if wf == nil || f == nil {
		return TaskSummary{}, false, nil
	}
	path := pathOf(wf, t.Node)
	if path == nil {
		return TaskSummary{}, false, nil
	}
	rec, err := w.store.FindRecordByID(ctx, in.App, in.Form, in.Record, true)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return TaskSummary{}, false, nil
		}
		return TaskSummary{}, false, err
	}
	n := nodeAt(wf, path)
	_, data := nodeView(f, rec.Data, func(fd *engine.Field) string { return nodeFieldPerm(n, fd) })
	return summarize(f, data), true, nil
}

// summarize picks the title and amount of data (a record as a step shows
// it): the first serial value, else the first text value; the first
// money value.
func summarize(f *engine.Form, data map[string]any) TaskSummary {
	var s TaskSummary
	var text string
	for _, fd := range f.Fields {
		v, ok := data[fd.Key]
		if !ok || v == nil || v == "" {
			continue
		}
		switch fd.Widget {
		case engine.WidgetSerial:
			if str, ok := v.(string); ok && s.Title == "" {
				s.Title = str
			}
		case engine.WidgetText:
			if str, ok := v.(string); ok && text == "" {
				text = str
			}
		case engine.WidgetMoney:
			if s.AmountField == nil {
				s.Amount, s.AmountField = v, fd
			}
		}
	}
	if s.Title == "" {
		s.Title = text
	}
	return s
}
