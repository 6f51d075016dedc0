package workflow

import (
	"context"
	"fmt"
	"strings"

	"formwork/engine"
)

// TaskHandOver is what handing a frozen user's open approval tasks to
// another user did: the tasks moved, and those left where they were with
// why (the new approver may not decide them: see checkDelegate).
type TaskHandOver struct {
	From  string     `json:"from"`
	To    string     `json:"to"`
	Moved []TaskMove `json:"moved"`
	Left  []TaskMove `json:"left"`
}

// TaskMove is one task of a hand-over: the old task, its record, the new
// task when it moved, and the reason when it did not.
type TaskMove struct {
	Task    string       `json:"task"`
	Record  string       `json:"record"`
	NewTask string       `json:"new_task,omitempty"`
	Reason  *engine.Text `json:"reason,omitempty"`
}

// UserOpenTaskCount returns how many open approval tasks a user holds
// (administrators only), for the page that offers to hand them over.
func (w *Runtime) UserOpenTaskCount(ctx context.Context, p *engine.Principal, userRef string) (int, error) {
	if err := engine.RequireAdmin(p); err != nil {
		return 0, err
	}
	u, err := w.findUser(ctx, userRef)
	if err != nil || u == nil {
		return 0, userGone(err)
	}
	n, err := w.store.CountDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "assignee:" + u.ID + "|" + TaskOpen})
	if err != nil {
		return 0, fmt.Errorf("open tasks of %s: %w", u.ID, err)
	}
	return int(n), nil
}

func userGone(err error) error {
	if err != nil {
		return err
	}
	return engine.Errorf(engine.ENOTFOUND, engine.T("用户不存在", "user not found"))
}

// HandOverTasks moves every open approval task of a frozen user (fromRef,
// an id or email) to another, active user (administrators only), as
// StartReassign moves their records: otherwise the tasks wait for their
// timeout. Each task moves in its own transition, as a transfer by the
// administrator (on the timeline and audited, reason "offboarding"); a task
// the new approver may not decide — they submitted the record, or the
// node's rule would not name them and they may not read it — stays, is
// listed in Left and is audited as denied. EINVALID when the source is
// not frozen or the target is frozen, missing or the same user.
func (w *Runtime) HandOverTasks(ctx context.Context, p *engine.Principal, fromRef, toRef string) (*TaskHandOver, error) {
	if err := engine.RequireAdmin(p); err != nil {
		_ = w.svc.Audit(ctx, p, "workflow.handover", "", "", fromRef, engine.ResultDenied, "not an administrator")
		return nil, err
	}
	from, err := w.findUser(ctx, strings.TrimSpace(fromRef))
	if err != nil || from == nil {
		return nil, userGone(err)
	}
	to, err := w.findUser(ctx, strings.TrimSpace(toRef))
	if err != nil {
		return nil, err
	}
	var bad []engine.FieldError
	if !from.Frozen {
		bad = append(bad, engine.FieldError{Field: "/from", Code: "not_frozen", Message: engine.T("只能移交已冻结用户的审批任务", "only a frozen user's approval tasks can be handed over")})
	}
	switch {
	case to == nil:
		bad = append(bad, engine.FieldError{Field: "/to", Code: "not_found", Message: engine.T("接收人不存在", "the new approver does not exist")})
	case to.ID == from.ID:
		bad = append(bad, engine.FieldError{Field: "/to", Code: "same_user", Message: engine.T("接收人不能是本人", "the new approver must be someone else")})
	case to.Frozen:
		bad = append(bad, engine.FieldError{Field: "/to", Code: "frozen", Message: engine.T("接收人已被冻结", "the new approver is frozen")})
	}
	if len(bad) > 0 {
		return nil, engine.Invalid(bad...)
	}
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindTask, Tag: "assignee:" + from.ID + "|" + TaskOpen})
	if err != nil {
		return nil, fmt.Errorf("hand over tasks of %s: %w", from.ID, err)
	}
	out := &TaskHandOver{From: from.ID, To: to.ID, Moved: []TaskMove{}, Left: []TaskMove{}}
	for _, d := range docs {
		t, err := taskFromDoc(d)
		if err != nil {
			return nil, err
		}
		m, err := w.handOver(ctx, p, t, to)
		if err != nil {
			return nil, fmt.Errorf("hand over task %s: %w", t.ID, err)
		}
		if m == nil {
			continue // closed meanwhile
		}
		if m.Reason != nil {
			out.Left = append(out.Left, *m)
			ev := w.svc.Event(p, "workflow.transfer", t.App, t.Form, t.Record, nil, engine.ResultDenied, "offboarding: "+m.Reason.En)
			ev.Detail = engine.MustJSON(map[string]any{"instance": t.Instance, "task": t.ID, "node": t.Node, "to": to.ID})
			_ = w.svc.WriteAudit(ctx, ev)
			continue
		}
		out.Moved = append(out.Moved, *m)
	}
	ev := w.svc.Event(p, "workflow.handover", "", "", from.ID, nil, engine.ResultOK, "to "+to.ID)
	ev.Detail = engine.MustJSON(map[string]any{"to": to.ID, "moved": len(out.Moved), "left": len(out.Left)})
	if err := w.svc.WriteAudit(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// handOver moves one task to to in its own transition; nil when the task
// closed meanwhile, a TaskMove with a Reason when to may not decide it.
func (w *Runtime) handOver(ctx context.Context, p *engine.Principal, t0 *Task, to *engine.User) (*TaskMove, error) {
	var out *TaskMove
	err := w.transition(ctx, t0.Instance, p, func(tx *wfTx) error {
		out = nil
		t := tx.tasks[t0.ID]
		act := tx.inst.activation(t0.Activation)
		if t == nil || t.Status != TaskOpen || tx.inst.Status != InstanceRunning || act == nil {
			return errNoop{}
		}
		n := nodeAt(tx.wf, pathOf(tx.wf, t.Node))
		m := &TaskMove{Task: t.ID, Record: t.Record}
		out = m
		if _, err := tx.checkDelegate(n, to); err != nil {
			msg := engine.T(engine.ErrorMessage(err, "zh"), engine.ErrorMessage(err, "en"))
			if engine.ErrorCode(err) != engine.EFORBIDDEN {
				return err
			}
			m.Reason = &msg
			return errNoop{}
		}
		comment := "offboarding"
		detail := map[string]any{"reason": "offboarding", "from": t.Assignee}
		tx.closeTask(t, TaskTransferred, comment)
		has := false
		for _, o := range tx.openTasks(act.Seq) {
			has = has || o.Assignee == to.ID
		}
		if !has { // someone who holds the step already needs no second task
			nt := tx.newTask(act, n, to.ID, t.Escalated, t.Assignee)
			m.NewTask = nt.ID
			detail["new_task"] = nt.ID
		}
		tx.step(Step{Kind: "transfer", Node: t.Node, Actor: tx.actorID(), Users: []string{to.ID}, Comment: comment, Detail: map[string]any{"reason": "offboarding"}})
		detail["node"], detail["to"] = t.Node, to.ID
		tx.audit("workflow.transfer", t.ID, detail)
		return nil
	})
	return out, err
}
