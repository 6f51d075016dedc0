package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"formwork/engine"
)

// TaskInput is what an approver sends with an action (API.md:
// `{"comment"?, "to"?, "data"?}`).
type TaskInput struct {
	Comment string         `json:"comment,omitempty"`
	To      string         `json:"to,omitempty"`   // return: a node key ("" = the previous approval node); transfer, add signer: a user id or email
	Data    map[string]any `json:"data,omitempty"` // approve: values of the fields the node lets the approver edit
}

// Task action names, as in the API's paths.
const (
	ActionApprove   = "approve"
	ActionReject    = "reject"
	ActionReturn    = "return"
	ActionTransfer  = "transfer"
	ActionAddSigner = "add_signer"
	ActionComment   = "comment"
)

// MaxCommentLength bounds a comment, in characters.
const MaxCommentLength = 2000

func errTaskNotFound() error {
	return engine.Errorf(engine.ENOTFOUND, engine.T("任务不存在", "task not found"))
}

func errTaskClosed(status string) error {
	return engine.Errorf(engine.ECONFLICT, engine.Tf("任务已处理（%s）", "the task is already closed (%s)", status))
}

// Act runs one task action (ActionApprove …) by p; every action is one
// atomic write of the instance, tasks, record revision (when data or the
// status change), audit events, notifications and outbox jobs. Repeating
// an action that already took effect (the same user approving the same
// task again) is a no-op that returns the task. Errors: ENOTFOUND for a
// task that is not p's, ECONFLICT for a closed task or a lost race,
// EFORBIDDEN for fields the node does not let p edit, EINVALID for data
// the form's rules refuse or a bad target.
func (w *Runtime) Act(ctx context.Context, p *engine.Principal, taskID, action string, in TaskInput) (*Task, error) {
	if p == nil || p.User == nil {
		return nil, engine.Errorf(engine.EUNAUTHORIZED, engine.T("请先登录", "please log in"))
	}
	if len([]rune(in.Comment)) > MaxCommentLength {
		return nil, engine.Invalid(engine.FieldError{Field: "/comment", Code: "maxLength", Message: engine.Tf("意见最多 %d 个字", "a comment has at most %d characters", MaxCommentLength)})
	}
	d, err := w.store.FindDoc(ctx, KindTask, taskID)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, errTaskNotFound()
		}
		return nil, err
	}
	t0, err := taskFromDoc(d)
	if err != nil {
		return nil, err
	}
	if t0.Assignee != p.User.ID {
		return nil, errTaskNotFound() // somebody else's task: no existence oracle
	}
	if err := engine.CheckTokenApp(p, t0.App); err != nil {
		return nil, err
	}
	if t0.Status != TaskOpen {
		if action == ActionComment {
			return t0, w.comment(ctx, p, t0, in)
		}
		if (action == ActionApprove && t0.Status == TaskApproved) || (action == ActionReject && t0.Status == TaskRejected) ||
			(action == ActionReturn && t0.Status == TaskReturned) || (action == ActionTransfer && t0.Status == TaskTransferred) {
			return t0, nil // the same decision again: already done
		}
		return nil, errTaskClosed(t0.Status)
	}
	var out *Task
	denied := "" // why the action was refused, for the audit log (the transition writes nothing)
	err = w.transition(ctx, t0.Instance, p, func(tx *wfTx) error {
		denied = ""
		t := tx.tasks[taskID]
		if t == nil {
			return errTaskClosed("closed")
		}
		out = t
		if tx.inst.Status != InstanceRunning {
			return errTaskClosed(tx.inst.Status)
		}
		act := tx.inst.activation(t.Activation)
		if act == nil {
			return errTaskClosed("stale")
		}
		n := nodeAt(tx.wf, pathOf(tx.wf, t.Node))
		if t.Assignee == tx.inst.Submitter && !tx.selfDecides(n, t) && action != ActionComment && action != ActionTransfer {
			// a task the submitter holds from before the rule (or an old
			// version's flow) is passed on, never decided by them
			denied = "submitter deciding their own record"
			return engine.Forbidden(engine.T("提交人不能审批自己的记录，请转交他人", "you submitted this record and cannot decide it; transfer the task"))
		}
		switch action {
		case ActionApprove:
			return tx.approve(t, act, n, in)
		case ActionReject:
			tx.inst.Acted = true
			tx.closeTask(t, TaskRejected, in.Comment)
			tx.step(Step{Kind: "reject", Node: t.Node, Actor: tx.actorID(), Comment: in.Comment})
			tx.audit("workflow.reject", t.ID, map[string]any{"node": t.Node, "comment": in.Comment})
			tx.finish(InstanceRejected, in.Comment)
			return nil
		case ActionReturn:
			return tx.returnTo(t, in)
		case ActionTransfer, ActionAddSigner:
			why, err := tx.delegate(t, act, n, action, in)
			denied = why
			return err
		case ActionComment:
			tx.step(Step{Kind: "comment", Node: t.Node, Actor: tx.actorID(), Comment: in.Comment})
			tx.audit("workflow.comment", t.ID, map[string]any{"node": t.Node, "comment": in.Comment})
			return nil
		}
		return engine.Invalid(engine.FieldError{Field: "/action", Code: "enum", Message: engine.Tf("未知操作 %q", "unknown action %q", action)})
	})
	if err != nil {
		if denied != "" {
			ev := w.svc.Event(p, "workflow."+action, t0.App, t0.Form, t0.Record, nil, engine.ResultDenied, denied)
			ev.Detail = engine.MustJSON(map[string]any{"instance": t0.Instance, "task": t0.ID, "node": t0.Node, "to": in.To})
			_ = w.svc.WriteAudit(ctx, ev)
		}
		return nil, err
	}
	return out, nil
}

// comment adds a comment on a closed task's instance.
func (w *Runtime) comment(ctx context.Context, p *engine.Principal, t *Task, in TaskInput) error {
	if strings.TrimSpace(in.Comment) == "" {
		return engine.Invalid(engine.FieldError{Field: "/comment", Code: "required", Message: engine.T("请填写意见", "the comment is empty")})
	}
	return w.transition(ctx, t.Instance, p, func(tx *wfTx) error {
		tx.step(Step{Kind: "comment", Node: t.Node, Actor: tx.actorID(), Comment: in.Comment})
		tx.audit("workflow.comment", t.ID, map[string]any{"node": t.Node, "comment": in.Comment})
		return nil
	})
}

// approve records one approval and advances the node by its mode.
func (tx *wfTx) approve(t *Task, act *Activation, n *engine.Node, in TaskInput) error {
	if len(in.Data) > 0 {
		if err := tx.applyEdits(n, in.Data); err != nil {
			return err
		}
	}
	tx.inst.Acted = true
	tx.closeTask(t, TaskApproved, in.Comment)
	act.Approved = append(act.Approved, t.Assignee)
	tx.step(Step{Kind: "approve", Node: t.Node, Actor: tx.actorID(), Comment: in.Comment})
	tx.audit("workflow.approve", t.ID, map[string]any{"node": t.Node, "comment": in.Comment})
	switch act.Mode {
	case ModeAll:
		if len(tx.openTasks(act.Seq)) > 0 {
			return nil
		}
	case ModeSequence:
		if len(tx.openTasks(act.Seq)) > 0 {
			return nil // an added signer is still to decide
		}
		if len(act.Queue) > 0 {
			nextUser := act.Queue[0]
			act.Queue = act.Queue[1:]
			tx.newTask(act, n, nextUser, false, "")
			tx.step(Step{Kind: "task", Node: n.Key, Users: []string{nextUser}, Detail: map[string]any{"mode": act.Mode, "activation": act.Seq}})
			return nil
		}
	}
	return tx.completeActivation(act)
}

// applyEdits merges the fields an approver changed into the record and
// validates the result with the form's rules.
func (tx *wfTx) applyEdits(n *engine.Node, data map[string]any) error {
	var bad []engine.FieldError
	for k := range data {
		perm := ""
		if fd := tx.cf.Form.Field(k); fd != nil {
			perm = nodeFieldPerm(n, fd)
		}
		if perm != engine.PermEdit {
			bad = append(bad, engine.FieldError{Field: engine.JSONPointer(k), Code: "forbidden", Message: engine.Tf("此节点不能修改字段 %s", "this step may not change field %s", k)})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b engine.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return engine.Forbidden(engine.T("包含此节点无权修改的字段", "the approval changes fields this step may not edit"), bad...)
	}
	merged := engine.CloneData(tx.rec.Data)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, v := range data {
		merged[k] = v
	}
	res := tx.w.svc.EvaluateRules("workflow", tx.cf, engine.EvalInput{Data: merged, Prev: tx.rec.Data, Now: tx.now, User: engine.UserEnvFor(tx.actor.User, tx.inst.App), System: engine.SystemOf(tx.rec), NoFieldMap: true, InPlace: true})
	if !res.OK() {
		return engine.Invalid(res.Errors...)
	}
	changed := engine.DiffData(tx.rec.Data, res.Data)
	if len(changed) == 0 {
		return nil
	}
	fields := make([]string, len(changed))
	for i, c := range changed {
		fields[i] = c.Field
	}
	tx.rec.Data = res.Data
	tx.recDirty = true
	ev := &engine.AuditEvent{Time: tx.now, Actor: tx.actorID(), IP: tx.actor.IP, Action: "update", App: tx.inst.App, Form: tx.inst.Form, Object: tx.inst.Record,
		Fields: fields, Result: engine.ResultOK, Reason: "edited while approving", Detail: engine.MustJSON(map[string]any{"instance": tx.inst.ID, "node": n.Key})}
	tx.ch.Audit = append(tx.ch.Audit, ev)
	return nil
}

// returnTo sends the instance back to an earlier approval node.
func (tx *wfTx) returnTo(t *Task, in TaskInput) error {
	target := in.To
	if target == "" {
		target = tx.previousApproval(pathOf(tx.wf, t.Node))
		if target == "" {
			return engine.Invalid(engine.FieldError{Field: "/to", Code: "no_previous", Message: engine.T("这是第一个审批节点，没有可退回的节点；请驳回", "this is the first approval step, there is nothing to return to; reject instead")})
		}
	}
	path := pathOf(tx.wf, target)
	visited := false
	for _, s := range tx.inst.Steps {
		visited = visited || (s.Kind == "task" && s.Node == target)
	}
	if path == nil || nodeAt(tx.wf, path).Type != engine.NodeApproval || !visited {
		return engine.Invalid(engine.FieldError{Field: "/to", Code: "invalid", Message: engine.Tf("只能退回到已经过的审批节点，%q 不是", "you can return only to an approval step already passed; %q is not one", target)})
	}
	tx.inst.Acted = true
	tx.closeTask(t, TaskReturned, in.Comment)
	for _, o := range tx.openTasks(-1) {
		tx.closeTask(o, TaskCancelled, "")
	}
	tx.inst.Active = nil
	tx.inst.Joins = map[string]int{}
	// parallel nodes around the target wait only for the target's branch
	for i := 2; i < len(path); i += 2 {
		if pn := nodeAt(tx.wf, path[:i-1]); pn.Type == engine.NodeParallel {
			tx.inst.Joins[pn.Key] = 1
		}
	}
	tx.step(Step{Kind: "return", Node: t.Node, Actor: tx.actorID(), Comment: in.Comment, Detail: map[string]any{"to": target}})
	tx.audit("workflow.return", t.ID, map[string]any{"node": t.Node, "to": target, "comment": in.Comment})
	tx.notify(tx.inst.Submitter, "returned", engine.Text{Zh: tx.wf.Name.Zh + " 被退回到 " + target, En: tx.wf.Name.En + " was returned to " + target}, "")
	return tx.enter(path)
}

// delegate transfers a task to another user or adds a signer next to it.
// A refusal of the target (see checkDelegate) comes with its reason for
// the audit log.
func (tx *wfTx) delegate(t *Task, act *Activation, n *engine.Node, action string, in TaskInput) (string, error) {
	if strings.TrimSpace(in.To) == "" {
		return "", engine.Invalid(engine.FieldError{Field: "/to", Code: "required", Message: engine.T("请指定用户", "name the user")})
	}
	u, err := tx.w.findUser(tx.ctx, strings.TrimSpace(in.To))
	if err != nil {
		return "", err
	}
	if u == nil || u.Frozen {
		return "", engine.Invalid(engine.FieldError{Field: "/to", Code: "not_found", Message: engine.Tf("用户 %s 不存在或已冻结", "user %s does not exist or is frozen", in.To)})
	}
	for _, o := range tx.openTasks(act.Seq) {
		if o.Assignee == u.ID {
			return "", engine.Invalid(engine.FieldError{Field: "/to", Code: "duplicate", Message: engine.T("该用户已在处理此节点", "that user already has this step")})
		}
	}
	if why, err := tx.checkDelegate(n, u); err != nil {
		return why, err
	}
	if action == ActionTransfer {
		tx.closeTask(t, TaskTransferred, in.Comment)
		nt := tx.newTask(act, n, u.ID, t.Escalated, t.Assignee)
		tx.step(Step{Kind: "transfer", Node: t.Node, Actor: tx.actorID(), Users: []string{u.ID}, Comment: in.Comment})
		tx.audit("workflow.transfer", t.ID, map[string]any{"node": t.Node, "to": u.ID, "new_task": nt.ID, "comment": in.Comment})
		return "", nil
	}
	if act.Mode == ModeSequence {
		act.Queue = append([]string{u.ID}, act.Queue...)
	} else {
		tx.newTask(act, n, u.ID, false, t.Assignee)
	}
	tx.step(Step{Kind: "add_signer", Node: t.Node, Actor: tx.actorID(), Users: []string{u.ID}, Comment: in.Comment})
	tx.audit("workflow.add_signer", t.ID, map[string]any{"node": t.Node, "user": u.ID, "comment": in.Comment})
	return "", nil
}

// BatchResult is one task's outcome in a batch approval.
type BatchResult struct {
	Task  string        `json:"task"`
	OK    bool          `json:"ok"`
	Error *engine.Error `json:"error,omitempty"`
}

// BatchApprove approves each task in turn, each in its own atomic write;
// one failing task does not stop the others.
func (w *Runtime) BatchApprove(ctx context.Context, p *engine.Principal, ids []string, comment string) []BatchResult {
	out := make([]BatchResult, 0, len(ids))
	for _, id := range ids {
		_, err := w.Act(ctx, p, id, ActionApprove, TaskInput{Comment: comment})
		r := BatchResult{Task: id, OK: err == nil}
		if err != nil {
			e, ok := err.(*engine.Error)
			if !ok {
				e = &engine.Error{Code: engine.EINTERNAL, Message: engine.T("内部错误", "internal error"), Err: err}
			}
			r.Error = e
		}
		out = append(out, r)
	}
	return out
}

// Withdraw ends the record's running workflow on its submitter's request,
// as long as no approver has acted yet. ENOTFOUND when no workflow runs on
// the record or p did not submit it; ECONFLICT once an approver acted.
func (w *Runtime) Withdraw(ctx context.Context, p *engine.Principal, app, form, recordID, comment string) error {
	if p == nil || p.User == nil {
		return engine.Errorf(engine.EUNAUTHORIZED, engine.T("请先登录", "please log in"))
	}
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindWorkflowInstance, Tag: "record:" + recordID + "|" + InstanceRunning, Limit: 1})
	if err != nil {
		return fmt.Errorf("withdraw: %w", err)
	}
	notFound := engine.Errorf(engine.ENOTFOUND, engine.T("没有可撤回的审批", "there is no approval to withdraw"))
	if len(docs) == 0 {
		return notFound
	}
	in, err := instanceFromDoc(docs[0])
	if err != nil {
		return err
	}
	if in.App != app || in.Form != form || in.Submitter != p.User.ID {
		return notFound
	}
	return w.transition(ctx, in.ID, p, func(tx *wfTx) error {
		if tx.inst.Status != InstanceRunning {
			if tx.inst.Status == InstanceWithdrawn {
				return errNoop{}
			}
			return errTaskClosed(tx.inst.Status)
		}
		if tx.inst.Acted {
			return engine.Errorf(engine.ECONFLICT, engine.T("审批人已处理，不能撤回", "an approver has already acted; it can no longer be withdrawn"))
		}
		tx.step(Step{Kind: "withdraw", Actor: tx.actorID(), Comment: comment})
		tx.finish(InstanceWithdrawn, comment)
		return nil
	})
}

// previousApproval returns the approval node that comes before the node at
// path in the flow (inside branches: the branch first, then before the
// branching node) and was visited; "" when there is none.
func (tx *wfTx) previousApproval(path []int) string {
	lastVisit := map[string]int{}
	for i, s := range tx.inst.Steps {
		if s.Kind == "task" {
			lastVisit[s.Node] = i + 1
		}
	}
	// latest visited approval node within a subtree
	var within func(n *engine.Node) (string, int)
	within = func(n *engine.Node) (string, int) {
		if n.Type == engine.NodeApproval {
			return n.Key, lastVisit[n.Key]
		}
		best, at := "", 0
		for _, br := range n.Branches {
			for _, c := range br.Nodes {
				if k, i := within(c); i > at {
					best, at = k, i
				}
			}
		}
		return best, at
	}
	for len(path) > 0 {
		nodes := seqOf(tx.wf, path)
		for j := path[len(path)-1] - 1; j >= 0; j-- {
			if k, at := within(nodes[j]); at > 0 {
				return k
			}
		}
		if len(path) == 1 {
			break
		}
		path = path[:len(path)-2]
	}
	return ""
}
