package engine

import (
	"context"
	"time"
)

// The recycle bin.
//
// A deleted record stays in its form's bin, with its files and revisions,
// until an administrator purges it (or the retention, when one is set,
// does): then the record and its revisions go for good in one write with
// its audit event, and the upload collector releases its files on its next
// run (it purges the uploads of records that are gone). Listing the bin
// and restoring from it need the delete operation (ListRecords with
// Deleted, RestoreRecord).

// deletedBy names who moved a record to the bin: the delete is its last
// write, so its UpdatedBy.
func deletedBy(r *Record) string {
	if r.DeletedAt == nil {
		return ""
	}
	return r.UpdatedBy
}

// PurgeRecord removes a record in the recycle bin for good, with its
// revisions (system administrators only). An administrator who has a second
// factor gives a fresh code (or a recovery code) as code: a stolen session
// alone purges nothing. EFORBIDDEN for others, ENOTFOUND when the record is
// not in the bin, EUNAUTHORIZED (field /totp) for a missing or wrong code.
func (s *Service) PurgeRecord(ctx context.Context, p *Principal, app, form, id, code string) error {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return err
	}
	if !acc.Admin {
		return s.deny(ctx, p, "purge", app, form, id, "not an administrator", Forbidden(T("只有系统管理员可以彻底删除记录", "only system administrators may purge records")))
	}
	r, err := s.store.FindRecordByID(ctx, app, f.Key, id, true)
	if err == nil && r.DeletedAt == nil {
		err = notFoundRecord()
	}
	if err != nil {
		return s.deny(ctx, p, "purge", app, form, id, "not in the recycle bin", err)
	}
	if err := s.CheckLoginMFA(ctx, p, p.User, code); err != nil {
		return err
	}
	_, err = s.store.Apply(ctx, s.purgeChange(p, r, "purge"))
	return err
}

// purgeChange is the one write that purges r, with its audit event.
func (s *Service) purgeChange(p *Principal, r *Record, reason string) *Change {
	ev := s.Event(p, "purge", r.App, r.Form, r.ID, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"deleted_at": r.DeletedAt, "deleted_by": r.UpdatedBy, "version": r.Version, "why": reason})
	return &Change{Records: []RecordWrite{{Op: WritePurge, Record: r, ExpectVersion: r.Version, Actor: p.Actor(), At: s.now()}},
		Audit: []*AuditEvent{ev}}
}

// PurgeExpired purges, as the system, every record that has been in a
// recycle bin longer than keep, a page at a time, and returns how many
// went. The retention job calls it; keep <= 0 keeps everything.
func (s *Service) PurgeExpired(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-keep)
	sys := &Principal{User: &User{ID: SystemActor}}
	n := 0
	err := s.eachApp(ctx, func(a *appDoc, b *Bundle) error {
		for _, f := range b.Forms {
			m, err := s.purgeFormBefore(ctx, sys, a.Key, f.Key, cutoff, "retention "+keep.String())
			n += m
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// purgeFormBefore purges the records of one form's bin deleted before cutoff.
func (s *Service) purgeFormBefore(ctx context.Context, sys *Principal, app, form string, cutoff time.Time, why string) (int, error) {
	n := 0
	for cursor := ""; ; {
		page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: form, Deleted: true, Limit: 200, Cursor: cursor})
		if err != nil {
			return n, err
		}
		for _, r := range page.Items {
			if r.DeletedAt == nil || r.DeletedAt.After(cutoff) {
				continue
			}
			if _, err := s.store.Apply(ctx, s.purgeChange(sys, r, why)); err != nil {
				if c := ErrorCode(err); c == ECONFLICT || c == ENOTFOUND {
					continue // restored or purged meanwhile
				}
				return n, err
			}
			n++
		}
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}
