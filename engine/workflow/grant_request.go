package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"formwork/engine"
)

// Temporary access grants requested and approved through the workflow
// runtime. A request is a record of the built-in app "access" (form
// "grant_request"), written with the requester as owner; its workflow has
// one approval node whose assignees are the holders of the role
// "access_approver" of that app — nobody by default, so the runtime
// escalates the task to the system administrators (and audits that) —
// then an action node that calls the "grant" plugin. The plugin creates
// the grant through Service.CreateGrant as the approver, so the grant and
// its audit event name who approved it, and its expiry job is scheduled
// like any grant. A request goes through everything an approval does:
// inbox, task page, timeline, reminders, return, withdraw, durability.
const (
	AccessApp          = "access"
	AccessRequestForm  = "grant_request"
	AccessApproverRole = "access_approver"
	GrantPluginName    = "grant"
)

// accessBundle is the built-in app, installed on the first request.
var accessBundle = []byte(`{
  "formwork": "1",
  "app": {"key": "access", "name": {"zh": "访问申请", "en": "Access requests"}, "version": "1.1.0"},
  "roles": [
    {"key": "access_approver", "name": {"zh": "访问审批人", "en": "Access approver"},
     "description": {"zh": "审批临时访问申请；无人持有时由系统管理员审批", "en": "Approves temporary access requests; when nobody holds it, the system administrators do"},
     "permissions": {"grant_request": {"operations": ["read"], "scope": "all", "fields": {"*": "read"}}}}
  ],
  "forms": [{
    "$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "grant_request", "type": "object",
    "x-title": {"zh": "临时访问申请", "en": "Temporary access request"},
    "properties": {
      "target_app":  {"type": "string", "maxLength": 100, "x-widget": "text", "x-label": {"zh": "应用", "en": "App"}},
      "target_form": {"type": "string", "maxLength": 100, "x-widget": "text", "x-label": {"zh": "表单", "en": "Form"}},
      "operations":  {"type": "string", "maxLength": 200, "x-widget": "text", "x-label": {"zh": "操作", "en": "Operations"}},
      "field_perms": {"type": "string", "maxLength": 2000, "x-widget": "textarea", "x-label": {"zh": "字段权限", "en": "Field permissions"}},
      "scope":       {"type": "string", "enum": ["own", "unit", "unit_and_below", "all"], "x-widget": "text", "x-label": {"zh": "数据范围", "en": "Data scope"}},
      "reason":      {"type": "string", "minLength": 1, "maxLength": 2000, "x-widget": "textarea", "x-label": {"zh": "理由", "en": "Reason"}},
      "expires_at":  {"type": "string", "maxLength": 40, "x-widget": "text", "x-label": {"zh": "到期时间", "en": "Expires at"}},
      "grant":       {"type": "string", "maxLength": 40, "x-widget": "text", "x-label": {"zh": "授权编号", "en": "Grant"}}
    },
    "required": ["target_app", "target_form", "reason", "expires_at", "scope"]
  }, {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "export_request", "type": "object",
    "x-title": {"zh": "导出审批", "en": "Export approval"},
    "properties": {
      "target_app":  {"type": "string", "maxLength": 100, "x-widget": "text", "x-label": {"zh": "应用", "en": "App"}},
      "target_form": {"type": "string", "maxLength": 100, "x-widget": "text", "x-label": {"zh": "表单", "en": "Form"}},
      "form_title":  {"type": "string", "maxLength": 200, "x-widget": "text", "x-label": {"zh": "导出的表单", "en": "Form exported"}},
      "export":      {"type": "string", "maxLength": 40, "x-widget": "text", "x-label": {"zh": "导出编号", "en": "Export"}},
      "rows":        {"type": "integer", "minimum": 0, "x-widget": "number", "x-label": {"zh": "记录数", "en": "Records"}},
      "format":      {"type": "string", "maxLength": 10, "x-widget": "text", "x-label": {"zh": "格式", "en": "Format"}},
      "columns":     {"type": "string", "maxLength": 4000, "x-widget": "textarea", "x-label": {"zh": "导出的字段", "en": "Fields exported"}},
      "unmasked":    {"type": "string", "maxLength": 4000, "x-widget": "textarea", "x-label": {"zh": "不打码的敏感字段", "en": "Sensitive fields in clear"}},
      "filter":      {"type": "string", "maxLength": 4000, "x-widget": "textarea", "x-label": {"zh": "筛选条件", "en": "Filter"}},
      "approvers":   {"type": "string", "maxLength": 20000, "x-widget": "member", "x-label": {"zh": "审批人", "en": "Approvers"}}
    },
    "required": ["target_app", "target_form", "export", "rows"]
  }],
  "workflows": [{
    "key": "grant_approval", "form": "grant_request", "name": {"zh": "临时访问审批", "en": "Temporary access approval"},
    "trigger": {"on": ["create"]},
    "nodes": [
      {"key": "approve", "type": "approval", "name": {"zh": "访问审批", "en": "Access approval"},
       "assignees": {"roles": ["access_approver"]}, "mode": "any", "fields": {"*": "read"}},
      {"key": "grant", "type": "action", "plugin": {"name": "grant"}}
    ]
  }, {
    "key": "export_approval", "form": "export_request", "name": {"zh": "导出审批", "en": "Export approval"},
    "trigger": {"on": ["create"]},
    "nodes": [
      {"key": "approve", "type": "approval", "name": {"zh": "导出审批", "en": "Export approval"},
       "assignees": {"field": "approvers"}, "mode": "any", "fields": {"*": "read"}},
      {"key": "export", "type": "action", "plugin": {"name": "export"}}
    ]
  }]
}`)

// GrantRequestInput is what a user asks for.
type GrantRequestInput struct {
	App       string            `json:"app"`
	Form      string            `json:"form"`
	Ops       []string          `json:"operations,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	Scope     string            `json:"scope,omitempty"` // default own
	Reason    string            `json:"reason"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// GrantRequest is a request as its requester (or an approver) sees it.
type GrantRequest struct {
	ID        string            `json:"id"` // the request record's id
	User      string            `json:"user"`
	App       string            `json:"app"`
	Form      string            `json:"form"`
	Ops       []string          `json:"operations,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	Scope     string            `json:"scope"`
	Reason    string            `json:"reason"`
	ExpiresAt string            `json:"expires_at"`
	Status    string            `json:"status"` // in_review, approved, rejected, withdrawn
	Grant     string            `json:"grant,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// accessSystem is the principal that installs the built-in app.
func accessSystem() *engine.Principal {
	return &engine.Principal{User: &engine.User{ID: engine.SystemActor, Name: "system", Admin: true}}
}

// accessApp returns the built-in app's current bundle, installing it on
// first use, and upgrading one installed before it had the export
// approval form.
func (w *Runtime) accessApp(ctx context.Context) (*engine.Bundle, int, error) {
	b, v, err := w.svc.Bundle(ctx, AccessApp, 0)
	if engine.ErrorCode(err) != engine.ENOTFOUND && (err != nil || b.Form(ExportRequestForm) != nil) {
		return b, v, err
	}
	if _, err := w.svc.ImportApp(ctx, accessSystem(), accessBundle, engine.ImportOptions{}); err != nil && engine.ErrorCode(err) != engine.ECONFLICT {
		return nil, 0, fmt.Errorf("install the access app: %w", err)
	}
	return w.svc.Bundle(ctx, AccessApp, 0)
}

// RequestGrant files p's request for temporary access; it starts the
// approval in the same atomic write as the request. EINVALID for a bad
// request (unknown app or form, no reason, an expiry outside the next 30
// days, unknown operations, fields or permissions).
func (w *Runtime) RequestGrant(ctx context.Context, p *engine.Principal, in GrantRequestInput) (*GrantRequest, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	now := w.now()
	var bad []engine.FieldError
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		bad = append(bad, engine.FieldError{Field: "/reason", Code: "required", Message: engine.T("请说明理由", "give a reason")})
	} else if len([]rune(in.Reason)) > MaxCommentLength {
		bad = append(bad, engine.FieldError{Field: "/reason", Code: "maxLength", Message: engine.Tf("理由最多 %d 个字", "a reason has at most %d characters", MaxCommentLength)})
	}
	if !in.ExpiresAt.After(now) || in.ExpiresAt.Sub(now) > engine.MaxGrantDuration {
		bad = append(bad, engine.FieldError{Field: "/expires_at", Code: "range", Message: engine.T("到期时间须在未来 30 天内", "the expiry must lie within the next 30 days")})
	}
	if in.Scope == "" {
		in.Scope = engine.ScopeOwn
	}
	if !slices.Contains([]string{engine.ScopeOwn, engine.ScopeUnit, engine.ScopeUnitAndBelow, engine.ScopeAll}, in.Scope) {
		bad = append(bad, engine.FieldError{Field: "/scope", Code: "enum", Message: engine.Tf("未知数据范围 %q", "unknown data scope %q", in.Scope)})
	}
	for _, op := range in.Ops {
		if !slices.Contains(engine.Operations(), op) {
			bad = append(bad, engine.FieldError{Field: "/operations", Code: "enum", Message: engine.Tf("未知操作 %q", "unknown operation %q", op)})
		}
	}
	if len(in.Ops) == 0 && len(in.Fields) == 0 {
		bad = append(bad, engine.FieldError{Field: "/operations", Code: "required", Message: engine.T("请申请操作或字段权限", "ask for operations or field permissions")})
	}
	tb, _, err := w.svc.Bundle(ctx, in.App, 0)
	var tf *engine.Form
	if err == nil && in.App != AccessApp {
		tf = tb.Form(in.Form)
	} else if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return nil, err
	}
	if tf == nil {
		bad = append(bad, engine.FieldError{Field: "/form", Code: "not_found", Message: engine.Tf("表单 %s/%s 不存在", "there is no form %s/%s", in.App, in.Form)})
	} else {
		for k, perm := range in.Fields {
			if k != "*" && tf.Field(k) == nil {
				bad = append(bad, engine.FieldError{Field: "/fields/" + k, Code: "unknown_field", Message: engine.Tf("表单中没有字段 %q", "the form has no field %q", k)})
			}
			if perm != engine.PermEdit && perm != engine.PermRead && perm != engine.PermMasked {
				bad = append(bad, engine.FieldError{Field: "/fields/" + k, Code: "enum", Message: engine.Tf("未知权限 %q", "unknown permission %q", perm)})
			}
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b engine.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, engine.Invalid(bad...)
	}
	b, v, err := w.accessApp(ctx)
	if err != nil {
		return nil, err
	}
	f := b.Form(AccessRequestForm)
	if f == nil {
		return nil, fmt.Errorf("the access app has no %s form", AccessRequestForm)
	}
	ops := slices.Clone(in.Ops)
	slices.Sort(ops)
	fields := ""
	if len(in.Fields) > 0 {
		fields = string(engine.MustJSON(in.Fields))
	}
	data := map[string]any{"target_app": in.App, "target_form": in.Form, "operations": strings.Join(ops, ","), "scope": in.Scope,
		"reason": in.Reason, "expires_at": in.ExpiresAt.UTC().Format(time.RFC3339)}
	if fields != "" {
		data["field_perms"] = fields
	}
	id := engine.NewID(now)
	res := b.Compiled(f.Key).Evaluate(engine.EvalInput{Data: data, Now: now, User: engine.UserEnvFor(p.User, AccessApp),
		System: map[string]any{"_id": id, "_unit": p.User.Unit, "_owner": p.User.ID, "_status": engine.StatusActive, "_version": 1}, NoFieldMap: true})
	if !res.OK() {
		return nil, engine.Invalid(res.Errors...)
	}
	r := &engine.Record{ID: id, App: AccessApp, Form: f.Key, FormVersion: v, Unit: p.User.Unit, Owner: p.User.ID, Status: engine.StatusActive,
		Data: res.Data, CreatedBy: p.User.ID, UpdatedBy: p.User.ID}
	ev := w.svc.Event(p, "grant.request", in.App, in.Form, id, slices.Sorted(maps.Keys(in.Fields)), engine.ResultOK, in.Reason)
	ev.Detail = engine.MustJSON(in)
	ch := &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: p.Actor(), At: now}},
		Audit: []*engine.AuditEvent{w.svc.Event(p, "create", AccessApp, f.Key, id, slices.Sorted(maps.Keys(res.Data)), engine.ResultOK, ""), ev}}
	if err := w.onRecord(ctx, &engine.RecordEvent{Principal: p, Bundle: b, Form: f, Op: engine.WriteCreate, After: r}, ch); err != nil {
		return nil, err
	}
	out, err := w.store.Apply(ctx, ch)
	if err != nil {
		return nil, err
	}
	return grantRequestOf(out.Records[0]), nil
}

func grantRequestOf(r *engine.Record) *GrantRequest {
	s := func(k string) string { v, _ := r.Data[k].(string); return v }
	g := &GrantRequest{ID: r.ID, User: r.Owner, App: s("target_app"), Form: s("target_form"), Scope: s("scope"), Reason: s("reason"),
		ExpiresAt: s("expires_at"), Status: r.Status, Grant: s("grant"), CreatedAt: r.CreatedAt}
	if ops := s("operations"); ops != "" {
		g.Ops = strings.Split(ops, ",")
	}
	if fp := s("field_perms"); fp != "" {
		_ = json.Unmarshal([]byte(fp), &g.Fields)
	}
	return g
}

// GrantRequests returns p's own requests, newest first.
func (w *Runtime) GrantRequests(ctx context.Context, p *engine.Principal) ([]*GrantRequest, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindWorkflowInstance, Tag: "submitter:" + p.User.ID})
	if err != nil {
		return nil, fmt.Errorf("grant requests: %w", err)
	}
	out := []*GrantRequest{}
	for i := len(docs) - 1; i >= 0; i-- {
		in, err := instanceFromDoc(docs[i])
		if err != nil {
			return nil, err
		}
		if in.App != AccessApp || in.Form != AccessRequestForm {
			continue
		}
		r, err := w.store.FindRecordByID(ctx, AccessApp, AccessRequestForm, in.Record, true)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENOTFOUND {
				continue
			}
			return nil, err
		}
		out = append(out, grantRequestOf(r))
	}
	return out, nil
}

// PendingGrantRequest is a request waiting for its approval: who it waits
// for, and the caller's own open task on it when they hold one (the page
// that approves or rejects it is that task's).
type PendingGrantRequest struct {
	GrantRequest
	Task      string   `json:"task,omitempty"`
	Assignees []string `json:"assignees"`
}

// PendingGrantRequests returns the requests still waiting for approval
// that p may see, oldest first: every one for a system administrator
// (who oversees them, and decides those escalated to them), else those
// waiting for p.
func (w *Runtime) PendingGrantRequests(ctx context.Context, p *engine.Principal) ([]*PendingGrantRequest, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	// the open tasks of each request: all of them for an administrator,
	// else p's own
	var open []*Task
	if p.User.Admin {
		docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: KindWorkflowInstance, Tag: "status:" + InstanceRunning})
		if err != nil {
			return nil, fmt.Errorf("pending grant requests: %w", err)
		}
		for _, d := range docs {
			in, err := instanceFromDoc(d)
			if err != nil {
				return nil, err
			}
			if in.App != AccessApp || in.Form != AccessRequestForm {
				continue
			}
			ts, err := w.tasksTagged(ctx, "instance:"+in.ID+"|open")
			if err != nil {
				return nil, err
			}
			open = append(open, ts...)
		}
	} else {
		ts, err := w.tasksTagged(ctx, "assignee:"+p.User.ID+"|open")
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.App == AccessApp && t.Form == AccessRequestForm {
				open = append(open, t)
			}
		}
	}
	byRecord := map[string]*PendingGrantRequest{}
	var out []*PendingGrantRequest
	for _, t := range open {
		pr := byRecord[t.Record]
		if pr == nil {
			r, err := w.store.FindRecordByID(ctx, AccessApp, AccessRequestForm, t.Record, false)
			if err != nil {
				if engine.ErrorCode(err) == engine.ENOTFOUND {
					continue
				}
				return nil, err
			}
			pr = &PendingGrantRequest{GrantRequest: *grantRequestOf(r), Assignees: []string{}}
			byRecord[t.Record] = pr
			out = append(out, pr)
		}
		if !slices.Contains(pr.Assignees, t.Assignee) {
			pr.Assignees = append(pr.Assignees, t.Assignee)
		}
		if t.Assignee == p.User.ID && pr.Task == "" {
			pr.Task = t.ID
		}
	}
	slices.SortFunc(out, func(a, b *PendingGrantRequest) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// grantPlugin is the action the access workflow ends with: it creates the
// grant the request asked for, as the user who approved it.
type grantPlugin struct{ w *Runtime }

func (g grantPlugin) Name() string { return GrantPluginName }

// Run creates the grant once: a redelivered job finds the grant it made
// (its reason names the request) and does nothing more.
func (g grantPlugin) Run(ctx context.Context, m engine.PluginMessage) error {
	w := g.w
	if m.App != AccessApp || m.Form != AccessRequestForm {
		return engine.Permanent(fmt.Errorf("grant plugin: runs only on %s/%s", AccessApp, AccessRequestForm))
	}
	rec, err := w.store.FindRecordByID(ctx, m.App, m.Form, m.Record, true)
	if err != nil {
		return err
	}
	req := grantRequestOf(rec)
	approver, err := w.approverOf(ctx, m.Instance)
	if err != nil {
		return err
	}
	u, err := w.org.FindUserByID(ctx, approver)
	if err != nil {
		return engine.Permanent(fmt.Errorf("grant plugin: the approver %q: %w", approver, err))
	}
	// the approval in the workflow is the authority to grant: the approver
	// acts as an administrator for this one grant
	ua := *u
	ua.Admin = true
	p := &engine.Principal{User: &ua, IP: "workflow"}
	tag := "[" + req.ID + "]"
	existing, err := w.svc.ListGrants(ctx, p, req.User)
	if err != nil {
		return err
	}
	for _, gr := range existing {
		if strings.HasSuffix(gr.Reason, tag) {
			return w.noteGrant(ctx, rec, gr.ID)
		}
	}
	exp, err := time.Parse(time.RFC3339, req.ExpiresAt)
	if err != nil {
		return engine.Permanent(fmt.Errorf("grant plugin: expiry %q: %w", req.ExpiresAt, err))
	}
	gr, err := w.svc.CreateGrant(ctx, p, engine.NewGrant{User: req.User, App: req.App, Form: req.Form, Ops: req.Ops, Fields: req.Fields, Scope: req.Scope,
		Reason: req.Reason + " " + tag, ExpiresAt: exp})
	if err != nil {
		if c := engine.ErrorCode(err); c == engine.EINVALID || c == engine.ENOTFOUND || c == engine.EFORBIDDEN {
			return engine.Permanent(fmt.Errorf("grant plugin: %w", err)) // e.g. approved after its expiry passed
		}
		return err
	}
	return w.noteGrant(ctx, rec, gr.ID)
}

// approverOf is who approved last in a workflow instance ("" for nobody).
func (w *Runtime) approverOf(ctx context.Context, instance string) (string, error) {
	d, err := w.store.FindDoc(ctx, KindWorkflowInstance, instance)
	if err != nil {
		return "", err
	}
	inst, err := instanceFromDoc(d)
	if err != nil {
		return "", err
	}
	approver := ""
	for _, s := range inst.Steps {
		if s.Kind == "approve" {
			approver = s.Actor
		}
	}
	return approver, nil
}

// noteGrant writes the grant's id into the request record.
func (w *Runtime) noteGrant(ctx context.Context, rec *engine.Record, grant string) error {
	if rec.Data["grant"] == grant {
		return nil
	}
	nr := *rec
	nr.Data = engine.CloneData(rec.Data)
	nr.Data["grant"] = grant
	now := w.now()
	ev := &engine.AuditEvent{Time: now, Actor: engine.SystemActor, Action: "update", App: rec.App, Form: rec.Form, Object: rec.ID, Fields: []string{"grant"},
		Result: engine.ResultOK, Reason: "grant created", Detail: engine.MustJSON(map[string]string{"grant": grant})}
	_, err := w.store.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: &nr, ExpectVersion: rec.Version, Actor: engine.SystemActor, At: now}},
		Audit: []*engine.AuditEvent{ev}})
	if engine.ErrorCode(err) == engine.ECONFLICT {
		return nil // written by a concurrent delivery, or the record moved on; the grant stands either way
	}
	return err
}

// FormRef names a form of an app, for choosing what to ask access to.
type FormRef struct {
	App     string      `json:"app"`
	AppName engine.Text `json:"app_name"`
	Form    string      `json:"form"`
	Title   engine.Text `json:"title"`
}

// RequestableForms lists the forms of every app (but the access app) a
// user may ask access to: names only, no data.
func (w *Runtime) RequestableForms(ctx context.Context, p *engine.Principal) ([]FormRef, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var out []FormRef
	bundles, err := w.svc.AppBundles(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range bundles {
		if b.App.Key == AccessApp {
			continue
		}
		for _, f := range b.Forms {
			out = append(out, FormRef{App: b.App.Key, AppName: b.App.Name, Form: f.Key, Title: f.Title})
		}
	}
	return out, nil
}
