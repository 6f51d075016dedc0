package engine

import (
	"context"
)

// Event builds an audit event of p's action at the service clock's time,
// for a Change to carry or for WriteAudit.
func (s *Service) Event(p *Principal, action, app, form, object string, fields []string, result, reason string) *AuditEvent {
	ev := &AuditEvent{Time: s.now(), Actor: p.Actor(), Action: action, App: app, Form: form, Object: object,
		Fields: fields, Result: result, Reason: reason}
	if p != nil {
		ev.IP = p.IP
	}
	return ev
}

// Audit writes an extra audit event (login, logout, page views) through the
// group-commit writer; it waits for the commit.
func (s *Service) Audit(ctx context.Context, p *Principal, action, app, form, object, result, reason string) error {
	return s.audit.Write(ctx, s.Event(p, action, app, form, object, nil, result, reason))
}

// WriteAudit writes an event another part of the product built (the
// workflow runtime's task views) through the group-commit writer; it waits
// for the commit.
func (s *Service) WriteAudit(ctx context.Context, ev *AuditEvent) error {
	return s.audit.Write(ctx, ev)
}

// deny records a denial and returns the error to give the caller.
func (s *Service) deny(ctx context.Context, p *Principal, action, app, form, object, reason string, err error) error {
	_ = s.audit.Write(ctx, s.Event(p, action, app, form, object, nil, ResultDenied, reason))
	return err
}

// AuditEvents reads the audit log (administrators and auditors). EINVALID
// for an unknown result or a bad cursor.
func (s *Service) AuditEvents(ctx context.Context, p *Principal, q AuditQuery) (*AuditPage, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "audit.read", "", "", "", "not an administrator or auditor", err)
	}
	if err := checkAuditQuery(q); err != nil {
		return nil, err
	}
	page, err := s.store.FindAuditEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "audit.read", "", "", "", nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return page, nil
}

// VerifyAudit walks the audit chain (administrators and auditors).
func (s *Service) VerifyAudit(ctx context.Context, p *Principal) (int64, *AuditBreak, error) {
	if err := requireAuditor(p); err != nil {
		return 0, nil, s.deny(ctx, p, "audit.verify", "", "", "", "not an administrator or auditor", err)
	}
	n, brk, err := VerifyAudit(ctx, s.store)
	if err != nil {
		return 0, nil, err
	}
	_ = s.audit.Write(ctx, s.Event(p, "audit.verify", "", "", "", nil, ResultOK, ""))
	return n, brk, nil
}
