package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Observer receives the engine's timings for a process's metrics. cmd
// fills it (with Prometheus); the engine never imports a metrics library.
// A nil field is not observed. Every function is called on the hot path,
// from many goroutines at once: it must be safe for concurrent use and
// return at once.
type Observer struct {
	// StoreOp is called after each call of a store wrapped by ObserveStore.
	StoreOp func(op StoreOp, outcome Outcome, took time.Duration)
	// RuleEval is called after the service evaluated a form's rules on a
	// record: op is "create", "update", "preview" or "workflow".
	RuleEval func(op string, took time.Duration)
	// AuditWrite is called after the audit writer committed (or failed to
	// commit) one batch of events.
	AuditWrite func(events int, outcome Outcome, took time.Duration)
}

// StoreOp names a Store method for metrics.
type StoreOp uint8

// The Store methods ObserveStore times.
const (
	OpApply StoreOp = iota
	OpFindRecordByID
	OpFindRecords
	OpCountRecords
	OpFindRevisions
	OpEnsureIndexes
	OpGroupRecords
	OpFindDoc
	OpFindDocs
	OpCountDocs
	OpDocVersions
	OpFindAuditEvents
	OpWalkAudit
	OpFindOutbox
	OpPing
	NumStoreOps // how many StoreOp values there are
)

var storeOpNames = [NumStoreOps]string{"apply", "find_record", "find_records", "count_records", "find_revisions", "ensure_indexes",
	"group_records", "find_doc", "find_docs", "count_docs", "doc_versions", "find_audit", "walk_audit", "find_outbox", "ping"}

// String is the op's metric label ("find_records").
func (o StoreOp) String() string {
	if o < NumStoreOps {
		return storeOpNames[o]
	}
	return "unknown"
}

// Outcome is how an observed call ended, coarse enough for a metric label.
type Outcome uint8

// Outcomes: ENOTFOUND, ECONFLICT and EINVALID are answers a store gives in
// normal operation and are told apart from other errors.
const (
	OutcomeOK Outcome = iota
	OutcomeNotFound
	OutcomeConflict
	OutcomeInvalid
	OutcomeError
	NumOutcomes // how many Outcome values there are
)

var outcomeNames = [NumOutcomes]string{"ok", "not_found", "conflict", "invalid", "error"}

// String is the outcome's metric label ("not_found").
func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// OutcomeOf classifies err.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	switch ErrorCode(err) {
	case ENOTFOUND:
		return OutcomeNotFound
	case ECONFLICT:
		return OutcomeConflict
	case EINVALID:
		return OutcomeInvalid
	}
	return OutcomeError
}

// ObserveStore returns s with every call timed and reported to fn (nil
// fn: s itself). It adds two clock reads and one call per operation
// (BenchmarkObservedStore measures it).
func ObserveStore(s Store, fn func(op StoreOp, outcome Outcome, took time.Duration)) Store {
	if fn == nil {
		return s
	}
	return &observedStore{Store: s, fn: fn}
}

// observedStore is the decorator ObserveStore returns.
type observedStore struct {
	Store
	fn func(StoreOp, Outcome, time.Duration)
}

func (s *observedStore) done(op StoreOp, start time.Time, err error) {
	s.fn(op, OutcomeOf(err), time.Since(start))
}

// Apply implements Store.
func (s *observedStore) Apply(ctx context.Context, c *Change) (*ChangeResult, error) {
	start := time.Now()
	r, err := s.Store.Apply(ctx, c)
	s.done(OpApply, start, err)
	return r, err
}

// FindRecordByID implements Store.
func (s *observedStore) FindRecordByID(ctx context.Context, app, form, id string, deleted bool) (*Record, error) {
	start := time.Now()
	r, err := s.Store.FindRecordByID(ctx, app, form, id, deleted)
	s.done(OpFindRecordByID, start, err)
	return r, err
}

// FindRecords implements Store.
func (s *observedStore) FindRecords(ctx context.Context, q RecordQuery) (*RecordPage, error) {
	start := time.Now()
	r, err := s.Store.FindRecords(ctx, q)
	s.done(OpFindRecords, start, err)
	return r, err
}

// CountRecords implements Store.
func (s *observedStore) CountRecords(ctx context.Context, q RecordQuery) (int64, error) {
	start := time.Now()
	n, err := s.Store.CountRecords(ctx, q)
	s.done(OpCountRecords, start, err)
	return n, err
}

// FindRevisions implements Store.
func (s *observedStore) FindRevisions(ctx context.Context, app, form, id string) ([]*Revision, error) {
	start := time.Now()
	r, err := s.Store.FindRevisions(ctx, app, form, id)
	s.done(OpFindRevisions, start, err)
	return r, err
}

// EnsureIndexes implements Store.
func (s *observedStore) EnsureIndexes(ctx context.Context, ix FormIndex) error {
	start := time.Now()
	err := s.Store.EnsureIndexes(ctx, ix)
	s.done(OpEnsureIndexes, start, err)
	return err
}

// GroupRecords implements Store.
func (s *observedStore) GroupRecords(ctx context.Context, q GroupQuery) ([]GroupRow, error) {
	start := time.Now()
	r, err := s.Store.GroupRecords(ctx, q)
	s.done(OpGroupRecords, start, err)
	return r, err
}

// FindDoc implements Store.
func (s *observedStore) FindDoc(ctx context.Context, kind, id string) (*Doc, error) {
	start := time.Now()
	d, err := s.Store.FindDoc(ctx, kind, id)
	s.done(OpFindDoc, start, err)
	return d, err
}

// FindDocs implements Store.
func (s *observedStore) FindDocs(ctx context.Context, q DocQuery) ([]*Doc, error) {
	start := time.Now()
	d, err := s.Store.FindDocs(ctx, q)
	s.done(OpFindDocs, start, err)
	return d, err
}

// CountDocs implements Store.
func (s *observedStore) CountDocs(ctx context.Context, q DocQuery) (int64, error) {
	start := time.Now()
	n, err := s.Store.CountDocs(ctx, q)
	s.done(OpCountDocs, start, err)
	return n, err
}

// DocVersions implements Store.
func (s *observedStore) DocVersions(ctx context.Context, refs []DocRef) ([]int64, error) {
	start := time.Now()
	v, err := s.Store.DocVersions(ctx, refs)
	s.done(OpDocVersions, start, err)
	return v, err
}

// FindAuditEvents implements Store.
func (s *observedStore) FindAuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	start := time.Now()
	p, err := s.Store.FindAuditEvents(ctx, q)
	s.done(OpFindAuditEvents, start, err)
	return p, err
}

// WalkAudit implements Store; the time includes fn's.
func (s *observedStore) WalkAudit(ctx context.Context, after int64, fn func(*AuditEvent) error) error {
	start := time.Now()
	err := s.Store.WalkAudit(ctx, after, fn)
	s.done(OpWalkAudit, start, err)
	return err
}

// WalkAuditChain keeps the inner store's fast chain walk (AuditChainWalker)
// for VerifyAudit, timed as walk_audit; without one it walks with WalkAudit.
func (s *observedStore) WalkAuditChain(ctx context.Context, fn func(*AuditEvent) error) error {
	w, ok := s.Store.(AuditChainWalker)
	if !ok {
		return s.WalkAudit(ctx, 0, fn)
	}
	start := time.Now()
	err := w.WalkAuditChain(ctx, fn)
	s.done(OpWalkAudit, start, err)
	return err
}

// FindOutbox implements Store.
func (s *observedStore) FindOutbox(ctx context.Context, due time.Time, limit int) ([]OutboxJob, error) {
	start := time.Now()
	j, err := s.Store.FindOutbox(ctx, due, limit)
	s.done(OpFindOutbox, start, err)
	return j, err
}

// Ping implements Store.
func (s *observedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Ping(ctx)
	s.done(OpPing, start, err)
	return err
}

// sessionPage is how many docs CountLiveSessions reads per query.
const sessionPage = 1000

// LiveSessions counts who is signed in: browser sessions, and login
// tokens of the JSON API (POST /api/v1/auth/login: a token that is not
// personal), both unexpired.
type LiveSessions struct {
	Browser int64
	API     int64
}

// CountLiveSessions counts the sessions and login tokens that have not
// expired (for the active-sessions metric). Expired ones stay stored
// until their user's credentials are cleared, so it reads every one's
// expiry: call it rarely (the metric caches it).
func (o *Org) CountLiveSessions(ctx context.Context) (LiveSessions, error) {
	now := o.now()
	var n LiveSessions
	for _, kind := range []string{KindSession, KindToken} {
		after := ""
		for {
			docs, err := o.store.FindDocs(ctx, DocQuery{Kind: kind, After: after, Limit: sessionPage})
			if err != nil {
				return LiveSessions{}, fmt.Errorf("count sessions: %w", err)
			}
			for _, d := range docs {
				var v struct {
					ExpiresAt *time.Time `json:"expires_at"`
					Personal  bool       `json:"personal"`
				}
				if json.Unmarshal(d.Value, &v) != nil || (v.ExpiresAt != nil && !now.Before(*v.ExpiresAt)) {
					continue
				}
				switch {
				case kind == KindSession && v.ExpiresAt != nil:
					n.Browser++
				case kind == KindToken && !v.Personal:
					n.API++
				}
			}
			if len(docs) < sessionPage {
				break
			}
			after = docs[len(docs)-1].ID
		}
	}
	return n, nil
}

// EvaluateRules runs cf's rules on in and reports the time to the
// service's RuleEval observer under op ("create", "update", "preview",
// "workflow"): the one way the service and the workflow runtime evaluate a
// record, so the metric sees every evaluation.
func (s *Service) EvaluateRules(op string, cf *CompiledForm, in EvalInput) *EvalResult {
	defer s.ruleTook(op, time.Now())
	return cf.Evaluate(in)
}

// ruleTook reports a rule evaluation begun at start.
func (s *Service) ruleTook(op string, start time.Time) {
	if s.obs.RuleEval != nil {
		s.obs.RuleEval(op, time.Since(start))
	}
}
