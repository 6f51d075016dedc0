package workflow

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"formwork/engine"
)

// Exports that need an approval (a role's export rule) are records of the
// built-in access app's form "export_request", filed by the exporter in
// the same atomic write as the export job. Its workflow asks the users
// the rule's approvers name — resolved in the exported app when the
// export is asked for, into the record's member field "approvers", ids
// joined by commas — and, once one
// approves, calls the "export" plugin, which queues the export
// (Service.ApproveExport). With nobody to ask, the runtime escalates to
// the system administrators, as for grant requests. A rejection leaves
// the export waiting, and Service.Export reads it as rejected.
const (
	ExportRequestForm = "export_request"
	ExportPluginName  = "export"
)

// StartExportApproval implements engine.ExportApprover: it adds the
// approval request for job, asked by p, to ch and returns its id.
func (w *Runtime) StartExportApproval(ctx context.Context, p *engine.Principal, job *engine.ExportJob, approvers *engine.Assignees, ch *engine.Change) (string, error) {
	if err := requireUser(p); err != nil {
		return "", err
	}
	b, v, err := w.accessApp(ctx)
	if err != nil {
		return "", err
	}
	f := b.Form(ExportRequestForm)
	if f == nil {
		return "", fmt.Errorf("the access app has no %s form", ExportRequestForm)
	}
	// the rule's approvers, in the exported app, nearest the exporter's unit
	var who []string
	if approvers != nil {
		a := *approvers
		a.Field = ""
		if who, err = w.assignees(ctx, job.App, p.User.Unit, nil, &a); err != nil {
			return "", err
		}
	}
	if err != nil {
		return "", err
	}
	now := w.now()
	data := map[string]any{"target_app": job.App, "target_form": job.Form, "form_title": job.Title.Zh + " / " + job.Title.En, "export": job.ID,
		"rows": job.Rows, "format": job.Format, "columns": strings.Join(job.Columns, ", "), "approvers": strings.Join(who, ",")}
	if len(job.Unmasked) > 0 {
		data["unmasked"] = strings.Join(job.Unmasked, ", ")
	}
	if len(job.Request.Filter) > 0 || job.Request.Search != "" || len(job.Request.Match) > 0 {
		data["filter"] = string(engine.MustJSON(map[string]any{"filter": job.Request.Filter, "match": job.Request.Match, "search": job.Request.Search}))
	}
	id := engine.NewID(now)
	res := b.Compiled(f.Key).Evaluate(engine.EvalInput{Data: data, Now: now, User: engine.UserEnvFor(p.User, AccessApp),
		System: map[string]any{"_id": id, "_unit": p.User.Unit, "_owner": p.User.ID, "_status": engine.StatusActive, "_version": 1}, NoFieldMap: true})
	if !res.OK() {
		return "", fmt.Errorf("export request %s: %v", job.ID, res.Errors)
	}
	r := &engine.Record{ID: id, App: AccessApp, Form: f.Key, FormVersion: v, Unit: p.User.Unit, Owner: p.User.ID, Status: engine.StatusActive,
		Data: res.Data, CreatedBy: p.User.ID, UpdatedBy: p.User.ID}
	ch.Records = append(ch.Records, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: p.Actor(), At: now})
	ch.Audit = append(ch.Audit, w.svc.Event(p, "create", AccessApp, f.Key, id, slices.Sorted(maps.Keys(res.Data)), engine.ResultOK, ""))
	if err := w.onRecord(ctx, &engine.RecordEvent{Principal: p, Bundle: b, Form: f, Op: engine.WriteCreate, After: r}, ch); err != nil {
		return "", err
	}
	return id, nil
}

// exportPlugin ends the export approval: it queues the export.
type exportPlugin struct{ w *Runtime }

func (e exportPlugin) Name() string { return ExportPluginName }

// Run queues the approved export once (ApproveExport is idempotent).
func (e exportPlugin) Run(ctx context.Context, m engine.PluginMessage) error {
	w := e.w
	if m.App != AccessApp || m.Form != ExportRequestForm {
		return engine.Permanent(fmt.Errorf("export plugin: runs only on %s/%s", AccessApp, ExportRequestForm))
	}
	rec, err := w.store.FindRecordByID(ctx, m.App, m.Form, m.Record, true)
	if err != nil {
		return err
	}
	id, _ := rec.Data["export"].(string)
	approver, err := w.approverOf(ctx, m.Instance)
	if err != nil {
		return err
	}
	if approver == "" {
		approver = engine.SystemActor
	}
	err = w.svc.ApproveExport(ctx, id, approver)
	if engine.ErrorCode(err) == engine.ENOTFOUND {
		return engine.Permanent(fmt.Errorf("export plugin: %w", err))
	}
	return err
}
