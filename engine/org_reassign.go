package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"formwork/engine/filter"
)

// KindReassign is the doc kind of record reassignments (offboarding): one
// doc per run, holding its progress.
const KindReassign = "reassign"

// JobReassign is the outbox job that moves a frozen user's records to
// another user.
const JobReassign = "records:reassign"

// Reassignment states.
const (
	ReassignPending = "pending"
	ReassignRunning = "running"
	ReassignDone    = "done"
)

// reassignBatch is how many records one atomic write moves; the progress
// advances by this much at a time.
const reassignBatch = 25

// Reassignment is one run of moving every live record a user owns, in
// every app, to another user. Its progress (Moved of Total) is written in
// the same atomic change as each batch of records, so it is exact even
// when the job is interrupted and delivered again.
type Reassignment struct {
	ID         string     `json:"id"`
	From       string     `json:"from"` // user id of the previous owner
	To         string     `json:"to"`   // user id of the new owner
	Status     string     `json:"status"`
	Total      int64      `json:"total"` // records found when the run started
	Moved      int64      `json:"moved"`
	StartedBy  string     `json:"started_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Percent is the share moved, 0–100 (100 when there was nothing to move).
func (r *Reassignment) Percent() int {
	switch {
	case r.Status == ReassignDone:
		return 100
	case r.Total <= 0:
		return 0
	}
	return int(min(r.Moved*100/r.Total, 100))
}

func reassignDoc(r *Reassignment) Doc {
	return Doc{Kind: KindReassign, ID: r.ID, Tags: []string{"user:" + r.From, "status:" + r.Status}, Value: MustJSON(r)}
}

func (s *Service) findReassignment(ctx context.Context, id string) (*Reassignment, int64, error) {
	return findDocAs[Reassignment](ctx, s.store, KindReassign, id)
}

// ownedBy is the filter of records owned by a user.
func ownedBy(userID string) filter.Expr {
	return filter.Cmp{Field: sysField("_owner"), Op: filter.OpEq, Value: userID}
}

// eachForm calls fn for every form of every app's current version.
func (s *Service) eachForm(ctx context.Context, fn func(app string, f *Form) error) error {
	return s.eachApp(ctx, func(a *appDoc, b *Bundle) error {
		for _, f := range b.Forms {
			if err := fn(a.Key, f); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppBundles returns every app's current bundle, ordered by app key. It
// checks no permission: callers show names only (the forms one may ask
// access to) or check access per form themselves.
func (s *Service) AppBundles(ctx context.Context) ([]*Bundle, error) {
	var out []*Bundle
	err := s.eachApp(ctx, func(_ *appDoc, b *Bundle) error {
		out = append(out, b)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].App.Key < out[j].App.Key })
	return out, err
}

// eachApp calls fn for every app with its current version's bundle.
func (s *Service) eachApp(ctx context.Context, fn func(a *appDoc, b *Bundle) error) error {
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindApp})
	if err != nil {
		return err
	}
	for _, a := range decodeEach[appDoc](docs, nil) {
		b, _, err := s.Bundle(ctx, a.Key, a.Version)
		if err != nil {
			return err
		}
		if err := fn(a, b); err != nil {
			return err
		}
	}
	return nil
}

// CountOwnedRecords counts the live records a user owns in every app
// (administrators only).
func (s *Service) CountOwnedRecords(ctx context.Context, p *Principal, userRef string) (int64, error) {
	if err := requireAdmin(p); err != nil {
		return 0, s.deny(ctx, p, "records.count_owned", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return 0, err
	}
	return s.countOwned(ctx, u.ID)
}

func (s *Service) countOwned(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.eachForm(ctx, func(app string, f *Form) error {
		c, err := s.store.CountRecords(ctx, RecordQuery{App: app, Form: f.Key, Filter: ownedBy(userID)})
		n += c
		return err
	})
	return n, err
}

// StartReassign starts moving every live record of a frozen user (fromRef,
// an id or email) to another, active user (administrators only). The run's
// doc, its audit event and the background job are written in one change;
// HandleReassignJob does the moving. EINVALID when the source is not
// frozen, the target is frozen or is the same user; ECONFLICT while another
// run for the same user is under way.
func (s *Service) StartReassign(ctx context.Context, p *Principal, fromRef, toRef string) (*Reassignment, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "records.reassign", "", "", fromRef, "not an administrator", err)
	}
	from, err := s.findUserRef(ctx, fromRef)
	if err != nil {
		return nil, err
	}
	to, err := s.findUserRef(ctx, toRef)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(FieldError{Field: "/to", Code: "not_found", Message: T("接收人不存在", "the new owner does not exist")})
		}
		return nil, err
	}
	var bad []FieldError
	if !from.Frozen {
		bad = append(bad, FieldError{Field: "/from", Code: "not_frozen", Message: T("只能转移已冻结用户的记录", "only a frozen user's records can be reassigned")})
	}
	if to.ID == from.ID {
		bad = append(bad, FieldError{Field: "/to", Code: "same_user", Message: T("接收人不能是本人", "the new owner must be someone else")})
	} else if to.Frozen {
		bad = append(bad, FieldError{Field: "/to", Code: "frozen", Message: T("接收人已被冻结", "the new owner is frozen")})
	}
	if len(bad) > 0 {
		return nil, Invalid(bad...)
	}
	if cur, err := s.LatestReassignment(ctx, p, from.ID); err != nil {
		return nil, err
	} else if cur != nil && cur.Status != ReassignDone {
		return nil, &Error{Code: ECONFLICT, Message: T("该用户的记录正在转移中", "this user's records are being reassigned already")}
	}
	total, err := s.countOwned(ctx, from.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := &Reassignment{ID: NewID(now), From: from.ID, To: to.ID, Status: ReassignPending, Total: total, StartedBy: p.Actor(), CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	ev := s.Event(p, "records.reassign", "", "", from.ID, []string{"_owner"}, ResultOK, "to "+to.ID)
	ev.Detail = MustJSON(map[string]any{"reassignment": r.ID, "to": to.ID, "records": total})
	if _, err := s.store.Apply(ctx, &Change{
		Docs:   []DocWrite{{Doc: reassignDoc(r)}},
		Audit:  []*AuditEvent{ev},
		Outbox: []OutboxJob{{ID: "reassign-" + r.ID, Type: JobReassign, Payload: MustJSON(map[string]string{"reassignment": r.ID}), RunAt: now, CreatedAt: now}},
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// LatestReassignment returns the newest reassignment of a user's records,
// or nil when there was none (administrators only).
func (s *Service) LatestReassignment(ctx context.Context, p *Principal, userRef string) (*Reassignment, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "records.reassign.read", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindReassign, Tag: "user:" + u.ID})
	if err != nil {
		return nil, err
	}
	out := decodeEach[Reassignment](docs, nil)
	if len(out) == 0 {
		return nil, nil
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || (out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID)
	})
	return out[len(out)-1], nil
}

// HandleReassignJob is the JobHandler of JobReassign. It moves the
// records in batches; each batch is one atomic change holding the records
// (each gets a revision), one audit event per record and the run's
// progress, written at the progress doc's version. A second delivery of
// the same job, even at the same time, therefore never moves a record
// twice nor counts it twice: the loser of a race sees a version conflict,
// re-reads the progress and carries on from there, and a finished run
// returns at once. Records the source user owns in the recycle bin stay
// where they are; ownership moves without running record hooks, since no
// field value changes.
func (s *Service) HandleReassignJob(ctx context.Context, job OutboxJob) error {
	var pl struct {
		Reassignment string `json:"reassignment"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return fmt.Errorf("reassign job %s: %w", job.ID, err)
	}
	conflicts := 0
	for {
		r, ver, err := s.findReassignment(ctx, pl.Reassignment)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if r.Status == ReassignDone {
			return nil
		}
		more, err := s.reassignBatch(ctx, r, ver)
		switch {
		case ErrorCode(err) == ECONFLICT:
			// another delivery (or an edit of a record) won the race: read again
			conflicts++
			if conflicts > 20 {
				return fmt.Errorf("reassign %s: %w", r.ID, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("reassign %s: %w", r.ID, err)
		case !more:
			return nil
		}
	}
}

// reassignBatch moves up to reassignBatch records and writes the progress;
// it reports whether any were left to move (false once the run is done).
func (s *Service) reassignBatch(ctx context.Context, r *Reassignment, ver int64) (bool, error) {
	now := s.now()
	actor := &Principal{User: &User{ID: r.StartedBy}}
	if r.StartedBy == "" || r.StartedBy == SystemActor {
		actor = nil
	}
	ch := &Change{}
	err := s.eachForm(ctx, func(app string, f *Form) error {
		room := reassignBatch - len(ch.Records)
		if room <= 0 {
			return nil
		}
		page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: f.Key, Filter: ownedBy(r.From), Limit: room,
			Sort: []SortKey{{Field: "_created_at"}}})
		if err != nil {
			return err
		}
		for _, rec := range page.Items {
			nr := rec.Clone()
			nr.Owner = r.To
			ch.Records = append(ch.Records, RecordWrite{Op: WriteUpdate, Record: nr, ExpectVersion: rec.Version, Actor: actor.Actor(), At: now})
			ev := s.Event(actor, "record.reassign", app, f.Key, rec.ID, []string{"_owner"}, ResultOK, "offboarding "+r.ID)
			ev.Detail = MustJSON(map[string]any{"_owner": map[string]string{"before": r.From, "after": r.To}, "reassignment": r.ID})
			ch.Audit = append(ch.Audit, ev)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	n := int64(len(ch.Records))
	r.Moved += n
	r.UpdatedAt = now.UTC()
	if n == 0 {
		r.Status = ReassignDone
		t := now.UTC()
		r.FinishedAt = &t
		if r.Moved > r.Total {
			r.Total = r.Moved
		}
		ch.Audit = append(ch.Audit, s.Event(actor, "records.reassign.done", "", "", r.From, []string{"_owner"}, ResultOK,
			fmt.Sprintf("%d records to %s", r.Moved, r.To)))
	} else {
		r.Status = ReassignRunning
		if r.Moved > r.Total {
			r.Total = r.Moved
		}
	}
	ch.Docs = []DocWrite{{Doc: reassignDoc(r), ExpectVersion: ver}}
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return false, err
	}
	return n > 0, nil
}
