package engine

import (
	"context"
	"time"
)

// RecordPrint is a record as one user may print it, with what its
// watermark names: who printed it and when (the time of the audit event).
type RecordPrint struct {
	Record *RecordView
	By     *User
	At     time.Time
}

// PrintRecord returns one record in p's scope for printing, redacted like
// GetRecord, and audits the print (action "print" on the record). It needs
// the print operation on top of read: without read, or for a record
// outside p's scope, it is ENOTFOUND (no existence oracle); with read but
// without print, EFORBIDDEN. Every refusal is audited.
func (s *Service) PrintRecord(ctx context.Context, p *Principal, app, form, id string) (*RecordPrint, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, s.deny(ctx, p, "print", app, form, id, "no read permission", notFoundRecord())
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, s.deny(ctx, p, "print", app, form, id, "not found or out of scope", err)
		}
		return nil, err
	}
	if !acc.Can(OpPrint) {
		return nil, s.deny(ctx, p, "print", app, form, id, "no print permission", Forbidden(T("无权打印记录", "you may not print records here")))
	}
	ev := s.Event(p, "print", app, form, id, nil, ResultOK, "")
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, err
	}
	return &RecordPrint{Record: viewOf(r, f, acc), By: p.User, At: ev.Time}, nil
}
