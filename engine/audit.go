package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Audit results.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultFailed = "failed"
)

// AuditEvent is one entry of the append-only, hash-chained audit log. The
// store assigns Seq (1, 2, …, one total order), PrevHash and Hash inside the
// same atomic write that stores the event.
type AuditEvent struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"` // user id, or "system"
	IP       string          `json:"ip,omitempty"`
	Action   string          `json:"action"` // login, view, list, create, update, …
	App      string          `json:"app,omitempty"`
	Form     string          `json:"form,omitempty"`
	Object   string          `json:"object,omitempty"` // record id, user id, unit key, …
	Fields   []string        `json:"fields,omitempty"` // fields touched
	Result   string          `json:"result"`
	Reason   string          `json:"reason,omitempty"` // why denied or failed
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// AuditTime normalises a time for the audit log: UTC, millisecond precision,
// the finest every backend round-trips exactly.
func AuditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// ComputeHash returns the event's chain hash: SHA-256 over the previous hash
// and a canonical, length-prefixed encoding of every other field.
func (e *AuditEvent) ComputeHash() string {
	// One buffer, one hash call: the verify walk hashes every event, and
	// writing each field through the hash.Hash interface allocated a copy
	// of it.
	var stack [512]byte
	b := stack[:0]
	put := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	put(e.PrevHash)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMilli()))
	put(e.Actor)
	put(e.IP)
	put(e.Action)
	put(e.App)
	put(e.Form)
	put(e.Object)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Fields)))
	for _, f := range e.Fields {
		put(f)
	}
	put(e.Result)
	put(e.Reason)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Detail)))
	b = append(b, e.Detail...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// AuditHead is the newest event of the chain as the next one is sealed
// after it (the zero value before the first event).
type AuditHead struct {
	Seq  int64
	Hash string
	Time time.Time
}

// Head returns the chain's head once e is appended.
func (e *AuditEvent) Head() AuditHead { return AuditHead{Seq: e.Seq, Hash: e.Hash, Time: e.Time} }

// Seal sets Seq, PrevHash, Time and Hash; stores call it inside the write
// that appends the event, after the chain's head prev.
//
// Time is normalised and clamped: never before prev's. An event's time is
// taken when the action happens, but events commit in the writer's order,
// so one that waited behind a later one would otherwise go back in time.
// With the clamp, time order is chain order (VerifyAudit checks it), so a
// query bounded by time reads one page along an index of (actor, time)
// instead of sorting every match by Seq; the shift is the wait for the
// writer, a few milliseconds.
func (e *AuditEvent) Seal(prev AuditHead) {
	e.Seq = prev.Seq + 1
	e.PrevHash = prev.Hash
	e.Time = AuditTime(e.Time)
	if e.Time.Before(prev.Time) {
		e.Time = prev.Time
	}
	e.Hash = e.ComputeHash()
}

// AuditBreak names the first event where the chain does not hold.
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditChainWalker is what a store may offer VerifyAudit besides
// Store.WalkAudit: every event in Seq order, read for verifying (a
// million events a few seconds, not thirty). The event and its strings are
// valid only during fn's call. A store without it is walked with WalkAudit.
type AuditChainWalker interface {
	WalkAuditChain(ctx context.Context, fn func(*AuditEvent) error) error
}

// VerifyAudit walks the whole chain and returns the number of events and the
// first break, if any: an edited event (hash mismatch), a deleted or
// inserted one (sequence gap or prev-hash mismatch), a reordered one, or
// one older than the event before it (Seal keeps time in chain order, so
// only a chain rewritten with its hashes recomputed shows this).
func VerifyAudit(ctx context.Context, s Store) (int64, *AuditBreak, error) {
	var n, prevSeq int64
	prevHash := ""
	var prevTime time.Time
	var brk *AuditBreak
	errStop := Errorf(EINTERNAL, T("停止", "stop"))
	walk := func(fn func(*AuditEvent) error) error { return s.WalkAudit(ctx, 0, fn) }
	if w, ok := s.(AuditChainWalker); ok {
		walk = func(fn func(*AuditEvent) error) error { return w.WalkAuditChain(ctx, fn) }
	}
	err := walk(func(e *AuditEvent) error {
		n++
		switch {
		case e.Seq != prevSeq+1:
			brk = &AuditBreak{Seq: e.Seq, Reason: "sequence gap or reorder: expected " + strconv.FormatInt(prevSeq+1, 10)}
		case e.PrevHash != prevHash:
			brk = &AuditBreak{Seq: e.Seq, Reason: "previous-hash mismatch (an event before it was removed, inserted or changed)"}
		case e.ComputeHash() != e.Hash:
			brk = &AuditBreak{Seq: e.Seq, Reason: "hash mismatch (the event was edited)"}
		case e.Time.Before(prevTime):
			brk = &AuditBreak{Seq: e.Seq, Reason: "out of order: the event is older than the one before it (the chain was rewritten)"}
		}
		if brk != nil {
			return errStop
		}
		// the walker's strings live only during the call
		prevSeq, prevHash, prevTime = e.Seq, strings.Clone(e.Hash), e.Time
		return nil
	})
	if err == errStop {
		err = nil
	}
	return n, brk, err
}
