package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"formwork/engine"
)

// HandleJob runs one workflow job (see JobTypes); it is the
// engine.JobHandler engine/queue registers for each of those types. Every
// job is idempotent: a timer checks the activation it belongs to is still
// waiting and not yet reminded or timed out, a plugin call is recorded as
// a plugin_run doc with the job's id, a delivery as a flag on its
// notification; the transition it makes also marks the job done in the
// same atomic write.
func (w *Runtime) HandleJob(ctx context.Context, job engine.OutboxJob) error {
	switch job.Type {
	case JobWorkflowRemind, JobWorkflowTimeout:
		var pl timerPayload
		if err := json.Unmarshal(job.Payload, &pl); err != nil {
			return fmt.Errorf("job %s: decode: %w", job.ID, err)
		}
		if job.Type == JobWorkflowRemind {
			return w.remind(ctx, job, pl)
		}
		return w.timeout(ctx, job, pl)
	case JobWorkflowPlugin:
		var pl pluginPayload
		if err := json.Unmarshal(job.Payload, &pl); err != nil {
			return fmt.Errorf("job %s: decode: %w", job.ID, err)
		}
		return w.runPlugin(ctx, job, pl)
	case JobNotifyDeliver:
		var pl deliverPayload
		if err := json.Unmarshal(job.Payload, &pl); err != nil {
			return fmt.Errorf("job %s: decode: %w", job.ID, err)
		}
		return w.deliver(ctx, job, pl)
	}
	return fmt.Errorf("job %s: not a workflow job type %q", job.ID, job.Type)
}

// errNotDue has a timer that arrived early retried later.
func errNotDue(at time.Time) error {
	return &engine.Error{Code: engine.EUNAVAILABLE, Message: engine.T("定时任务尚未到期", "the timer is not due yet"), Err: fmt.Errorf("timer due at %s", at.Format(time.RFC3339))}
}

func (w *Runtime) remind(ctx context.Context, job engine.OutboxJob, pl timerPayload) error {
	return w.transition(ctx, pl.Instance, nil, func(tx *wfTx) error {
		act := tx.inst.activation(pl.Activation)
		if tx.inst.Status != InstanceRunning || act == nil || act.Node != pl.Node || act.Reminded || act.RemindAt == nil {
			return errNoop{}
		}
		if tx.now.Before(*act.RemindAt) {
			return errNotDue(*act.RemindAt)
		}
		act.Reminded = true
		tx.jobID = job.ID
		var users []string
		for _, t := range tx.openTasks(act.Seq) {
			users = append(users, t.Assignee)
			tx.notify(t.Assignee, "remind", engine.Text{Zh: "催办：" + tx.wf.Name.Zh, En: "Reminder: " + tx.wf.Name.En}, t.ID)
		}
		tx.step(Step{Kind: "remind", Node: act.Node, Actor: engine.SystemActor, Users: users})
		tx.audit("workflow.remind", "", map[string]any{"node": act.Node, "to": users})
		return nil
	})
}

func (w *Runtime) timeout(ctx context.Context, job engine.OutboxJob, pl timerPayload) error {
	return w.transition(ctx, pl.Instance, nil, func(tx *wfTx) error {
		act := tx.inst.activation(pl.Activation)
		if tx.inst.Status != InstanceRunning || act == nil || act.Node != pl.Node || act.TimedOut || act.DueAt == nil {
			return errNoop{}
		}
		if tx.now.Before(*act.DueAt) {
			return errNotDue(*act.DueAt)
		}
		act.TimedOut = true
		tx.jobID = job.ID
		n := nodeAt(tx.wf, pathOf(tx.wf, act.Node))
		action := ""
		if n.Timeout != nil {
			action = n.Timeout.Action
		}
		switch action {
		case "escalate":
			users, err := tx.w.resolve(tx.ctx, tx, n.Timeout.To)
			if err != nil {
				return err
			}
			users = tx.withoutSubmitter(n, users, "escalation")
			if len(users) == 0 {
				if users, err = tx.w.admins(tx.ctx); err != nil {
					return err
				}
				users = tx.withoutSubmitter(n, users, "administrator")
			}
			// whoever the node escalates to decides: the first decision wins
			act.Mode, act.Queue = ModeAny, nil
			var added []string
			for _, u := range users {
				has := false
				for _, t := range tx.openTasks(act.Seq) {
					has = has || t.Assignee == u
				}
				if !has {
					tx.newTask(act, n, u, true, "")
					added = append(added, u)
				}
			}
			tx.step(Step{Kind: "escalate", Node: act.Node, Actor: engine.SystemActor, Users: added, Detail: map[string]any{"reason": "timeout"}})
			tx.audit("workflow.escalate", "", map[string]any{"node": act.Node, "reason": "timeout", "to": added})
			return nil
		case "approve", "reject":
			for _, t := range tx.openTasks(act.Seq) {
				tx.closeTask(t, TaskTimedOut, "")
			}
			tx.step(Step{Kind: "timeout", Node: act.Node, Actor: engine.SystemActor, Detail: map[string]any{"action": action}})
			tx.audit("workflow.timeout", "", map[string]any{"node": act.Node, "action": action})
			if action == "approve" {
				return tx.completeActivation(act)
			}
			tx.finish(InstanceRejected, "timeout")
			return nil
		}
		tx.step(Step{Kind: "timeout", Node: act.Node, Actor: engine.SystemActor})
		tx.audit("workflow.timeout", "", map[string]any{"node": act.Node})
		return nil
	})
}

// pluginRun records a plugin call that completed, so a second delivery of
// its job does not call the plugin again.
type pluginRun struct {
	Job      string    `json:"job"`
	Plugin   string    `json:"plugin"`
	Instance string    `json:"instance"`
	Node     string    `json:"node"`
	Status   string    `json:"status"` // ok, failed
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

func (w *Runtime) runPlugin(ctx context.Context, job engine.OutboxJob, pl pluginPayload) error {
	if _, err := w.store.FindDoc(ctx, KindPluginRun, job.ID); err == nil {
		return nil // ran before
	} else if engine.ErrorCode(err) != engine.ENOTFOUND {
		return err
	}
	d, err := w.store.FindDoc(ctx, KindWorkflowInstance, pl.Instance)
	if err != nil {
		return fmt.Errorf("plugin job %s: instance: %w", job.ID, err)
	}
	in, err := instanceFromDoc(d)
	if err != nil {
		return err
	}
	now := w.now()
	run := pluginRun{Job: job.ID, Plugin: pl.Plugin, Instance: in.ID, Node: pl.Node, Status: engine.ResultOK, At: now}
	ev := &engine.AuditEvent{Time: now, Actor: engine.SystemActor, Action: "workflow.plugin", App: in.App, Form: in.Form, Object: in.Record, Result: engine.ResultOK,
		Detail: engine.MustJSON(map[string]any{"instance": in.ID, "node": pl.Node, "plugin": pl.Plugin, "job": job.ID})}
	p := w.plugins.Get(pl.Plugin)
	if p == nil {
		// a configuration error that no retry can mend: record it and stop
		run.Status, run.Error = engine.ResultFailed, "no plugin named "+pl.Plugin
		ev.Result, ev.Reason = engine.ResultFailed, run.Error
	} else {
		rec, err := w.store.FindRecordByID(ctx, in.App, in.Form, in.Record, true)
		if err != nil {
			return fmt.Errorf("plugin job %s: record: %w", job.ID, err)
		}
		data, err := w.pluginData(ctx, in, pl.Node, rec)
		if err != nil {
			return fmt.Errorf("plugin job %s: %w", job.ID, err)
		}
		m := engine.PluginMessage{ID: job.ID, Event: engine.EventAction, App: in.App, Form: in.Form, Record: in.Record, Workflow: in.Workflow, Instance: in.ID,
			Node: pl.Node, Config: pl.Config, Data: data, Status: rec.Status, Title: engine.T(in.Workflow, in.Workflow)}
		if err := p.Run(ctx, m); err != nil {
			if !engine.IsPermanent(err) {
				return fmt.Errorf("plugin %s (job %s): %w", pl.Plugin, job.ID, err)
			}
			run.Status, run.Error = engine.ResultFailed, err.Error()
			ev.Result, ev.Reason = engine.ResultFailed, err.Error()
		}
	}
	_, err = w.store.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: KindPluginRun, ID: job.ID, Tags: []string{"instance:" + in.ID}, Value: engine.MustJSON(run), Updated: now}}},
		Audit: []*engine.AuditEvent{ev}, OutboxDone: []string{job.ID}})
	if engine.ErrorCode(err) == engine.ECONFLICT {
		return nil // a concurrent delivery recorded it first
	}
	return err
}

// pluginData is the record as the action node calling a plugin may see
// it (pluginFieldPerm), under the app version the instance runs on.
func (w *Runtime) pluginData(ctx context.Context, in *Instance, node string, rec *engine.Record) (map[string]any, error) {
	b, _, err := w.svc.Bundle(ctx, in.App, in.FormVersion)
	if err != nil {
		return nil, fmt.Errorf("app version %d: %w", in.FormVersion, err)
	}
	wf, f := b.Workflow(in.Workflow), b.Form(in.Form)
	if wf == nil || f == nil {
		return nil, fmt.Errorf("workflow %s/%s missing from app version %d", in.Form, in.Workflow, in.FormVersion)
	}
	var n *engine.Node
	if path := pathOf(wf, node); path != nil {
		n = nodeAt(wf, path)
	}
	_, data := nodeView(f, rec.Data, func(fd *engine.Field) string { return pluginFieldPerm(n, fd) })
	return data, nil
}

func (w *Runtime) deliver(ctx context.Context, job engine.OutboxJob, pl deliverPayload) error {
	for attempt := 0; attempt < w.opt.MaxRetries; attempt++ {
		d, err := w.store.FindDoc(ctx, KindNotification, pl.Notification)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENOTFOUND {
				return nil
			}
			return err
		}
		n, err := notificationFromDoc(d)
		if err != nil {
			return err
		}
		if n.Delivered[pl.Channel] {
			return nil
		}
		p := w.plugins.Get(pl.Channel)
		if p == nil {
			return nil // the channel is not configured in this process: nothing to send
		}
		u, err := w.org.FindUserByID(ctx, n.User)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENOTFOUND {
				return nil
			}
			return err
		}
		if attempt == 0 {
			m := engine.PluginMessage{ID: job.ID, Event: engine.EventNotification, App: n.App, Form: n.Form, Record: n.Record, Instance: n.Instance,
				Kind: n.Kind, Title: n.Title, To: []engine.Recipient{{ID: u.ID, Email: u.Email, Name: u.Name, Lang: w.org.UserLang(ctx, u.ID)}}}
			if err := p.Run(ctx, m); err != nil {
				if engine.IsPermanent(err) {
					return nil // logged by the plugin; retrying cannot help
				}
				return fmt.Errorf("deliver notification %s on %s: %w", n.ID, pl.Channel, err)
			}
		}
		if n.Delivered == nil {
			n.Delivered = map[string]bool{}
		}
		n.Delivered[pl.Channel] = true
		now := w.now()
		doc := notificationDoc(n, now)
		_, err = w.store.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: doc, ExpectVersion: n.Version}}, OutboxDone: []string{job.ID}})
		if engine.ErrorCode(err) != engine.ECONFLICT {
			return err
		}
	}
	return engine.Errorf(engine.ECONFLICT, engine.T("通知正被同时修改", "the notification is being changed concurrently"))
}
