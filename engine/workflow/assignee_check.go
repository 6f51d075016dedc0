package workflow

import (
	"slices"

	"formwork/engine"
)

// selfAllowed reports whether the submitter may decide their own record at
// n (the node says "self": "allow").
func selfAllowed(n *engine.Node) bool { return n != nil && n.Self == engine.NodeSelfAllow }

// selfDecides reports whether t, held by the record's submitter, may be
// decided by them: the node allows it, or it is the administrators' last
// resort (see withoutSubmitter).
func (tx *wfTx) selfDecides(n *engine.Node, t *Task) bool {
	return selfAllowed(n) || (t.Escalated && tx.submitter != nil && tx.submitter.Admin)
}

// withoutSubmitter leaves the record's submitter out of users unless n
// lets them decide their own record; a removal is on the timeline and in
// the audit log, so nobody wonders why the step went elsewhere (as
// Jiandaoyun's 发起人自动审批/去重 settings: the next eligible approver
// takes it, or, with none, the step escalates).
//
// The one exception is the last resort: when the step has gone to the
// administrators and the submitter is the only one, they keep it (an
// administrator may change any record anyway, so deciding it gives them
// nothing more), audited as workflow.self_fallback; otherwise a lone
// administrator could not save a record that starts an approval.
func (tx *wfTx) withoutSubmitter(n *engine.Node, users []string, why string) []string {
	out, dropped := dropSubmitter(n, users, tx.inst.Submitter)
	if !dropped {
		return users
	}
	if len(out) == 0 && why == "administrator" {
		tx.step(Step{Kind: "self_fallback", Node: n.Key, Users: users, Detail: map[string]any{"reason": "no other administrator"}})
		tx.audit("workflow.self_fallback", "", map[string]any{"node": n.Key, "user": tx.inst.Submitter})
		return users
	}
	tx.step(Step{Kind: "skip_self", Node: n.Key, Users: []string{tx.inst.Submitter}, Detail: map[string]any{"reason": why}})
	tx.audit("workflow.skip_submitter", "", map[string]any{"node": n.Key, "user": tx.inst.Submitter, "reason": why})
	return out
}

// dropSubmitter returns users without submitter unless n lets the
// submitter decide, and whether it left anyone out.
func dropSubmitter(n *engine.Node, users []string, submitter string) ([]string, bool) {
	if selfAllowed(n) || !slices.Contains(users, submitter) {
		return users, false
	}
	return slices.DeleteFunc(slices.Clone(users), func(u string) bool { return u == submitter }), true
}

// checkDelegate refuses a transfer or added signer who must not decide at
// n: the submitter (unless the node allows it), or someone the node's
// assignee rule could not have chosen and who may not read the record on
// their own — a task shows the record, so handing it over must not widen
// who sees it. It returns the reason for the audit log with the error.
func (tx *wfTx) checkDelegate(n *engine.Node, u *engine.User) (string, error) {
	if u.ID == tx.inst.Submitter && !selfAllowed(n) {
		return "target is the submitter", engine.Forbidden(engine.T("不能把审批交给提交人本人", "the submitter cannot decide their own record"))
	}
	chosen, err := tx.w.resolve(tx.ctx, tx, n.Assignees)
	if err != nil {
		return "", err
	}
	if slices.Contains(chosen, u.ID) {
		return "", nil
	}
	ok, err := tx.w.svc.MayRead(tx.ctx, u, tx.b, tx.rec)
	if err != nil {
		return "", err
	}
	if !ok {
		return "target may not read the record", engine.Forbidden(engine.T("该用户不是此节点的审批人，也无权查看这条记录",
			"that user is not an approver of this step and may not read this record"))
	}
	return "", nil
}
