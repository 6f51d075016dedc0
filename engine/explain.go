package engine

import (
	"context"
	"time"

	"formwork/engine/filter"
)

// Explanation is an access decision for one user, form, record and field,
// with every rule that produced it (API.md's /api/v1/access/explain).
type Explanation struct {
	User       string       `json:"user"`
	App        string       `json:"app"`
	Form       string       `json:"form"`
	Record     string       `json:"record,omitempty"`
	Field      string       `json:"field,omitempty"`
	At         time.Time    `json:"at"`
	IP         string       `json:"ip,omitempty"`
	Frozen     bool         `json:"frozen,omitempty"`
	Admin      bool         `json:"admin,omitempty"`
	Operations []string     `json:"operations"`
	InScope    *bool        `json:"in_scope,omitempty"`   // with a record: whether it lies in the user's scope
	FieldPerm  string       `json:"field_perm,omitempty"` // with a field: the effective permission
	Decision   string       `json:"decision"`             // one line: what the user gets
	Rules      []AccessRule `json:"rules"`
	Policies   []string     `json:"policies_not_holding,omitempty"`
}

// Explain tells an administrator what userRef (id or email) may do on a
// form — and, with a record and field, on that record and field — and
// which roles, grants, scopes and policies decided it. The user's access
// is resolved as for a request from ip at the service's current time.
func (s *Service) Explain(ctx context.Context, p *Principal, userRef, app, form, recordID, field, ip string) (*Explanation, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "access.explain", app, form, userRef, "not an administrator or auditor", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	b, _, f, err := s.publishedForm(ctx, app, form)
	if err != nil {
		return nil, err
	}
	if field != "" && f.Field(field) == nil {
		return nil, Invalid(FieldError{Field: "/field", Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", field)})
	}
	ex := &Explanation{User: u.ID, App: app, Form: form, Record: recordID, Field: field, At: s.now(), IP: ip, Frozen: u.Frozen, Admin: u.Admin, Rules: []AccessRule{}}
	if u.Frozen {
		ex.Decision = "frozen: every request is refused (423)"
		ex.Operations = []string{}
		return ex, s.audit.Write(ctx, s.Event(p, "access.explain", app, form, u.ID, nil, ResultOK, ""))
	}
	acc, err := s.resolveAccess(ctx, &Principal{User: u, IP: ip}, b, f)
	if err != nil {
		return nil, err
	}
	ex.Operations = acc.OperationList()
	if ex.Operations == nil {
		ex.Operations = []string{}
	}
	ex.Policies = acc.PolicyDenied
	for _, r := range acc.Trace {
		if field != "" && r.Fields != nil {
			r.Fields = map[string]string{field: r.Fields[field]}
		}
		ex.Rules = append(ex.Rules, r)
	}
	if field != "" {
		ex.FieldPerm = acc.Field(field)
	}
	ex.Decision = "no access to the form"
	if acc.Can(OpRead) || acc.Can(OpCreate) {
		ex.Decision = "operations " + joinOps(ex.Operations)
	}
	if recordID != "" {
		if _, err := s.store.FindRecordByID(ctx, app, f.Key, recordID, false); err != nil {
			return nil, err
		}
		// each rule's scope is asked of the store, exactly as a request would
		var matched []AccessRule
		for _, rule := range ex.Rules {
			if !rule.Applies {
				continue
			}
			if rule.Scope == ScopeAll {
				matched = append(matched, rule)
				continue
			}
			n, err := s.store.CountRecords(ctx, RecordQuery{App: app, Form: f.Key,
				Filter: filter.And{Items: []filter.Expr{rule.scopeExp, filter.Cmp{Field: sysField("_id"), Op: filter.OpEq, Value: recordID}}}})
			if err != nil {
				return nil, err
			}
			if n > 0 {
				matched = append(matched, rule)
			}
		}
		in := len(matched) > 0
		ex.InScope = &in
		switch {
		case !acc.Can(OpRead):
			ex.Decision = "record: not found (no read permission on the form)"
		case !in:
			ex.Decision = "record: not found (outside every scope)"
		default:
			ex.Decision = "record: visible through " + sourcesOf(matched)
		}
	}
	if field != "" {
		ex.Decision += "; field " + field + ": " + ex.FieldPerm
	}
	return ex, s.audit.Write(ctx, s.Event(p, "access.explain", app, form, u.ID, nil, ResultOK, ""))
}

func joinOps(ops []string) string {
	if len(ops) == 0 {
		return "none"
	}
	out := ops[0]
	for _, o := range ops[1:] {
		out += ", " + o
	}
	return out
}

func sourcesOf(rules []AccessRule) string {
	if len(rules) == 0 {
		return "no rule"
	}
	out := rules[0].Source
	for _, r := range rules[1:] {
		out += ", " + r.Source
	}
	return out
}
