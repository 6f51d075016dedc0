package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
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

// Seal sets Seq, PrevHash, Time normalisation and Hash; stores call it inside
// the write that appends the event, with the previous event's Seq and Hash.
func (e *AuditEvent) Seal(prevSeq int64, prevHash string) {
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Time = AuditTime(e.Time)
	e.Hash = e.ComputeHash()
}

// AuditBreak names the first event where the chain does not hold.
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// VerifyAudit walks the whole chain and returns the number of events and the
// first break, if any: an edited event (hash mismatch), a deleted or
// inserted one (sequence gap or prev-hash mismatch), a reordered one.
func VerifyAudit(ctx context.Context, s Store) (int64, *AuditBreak, error) {
	var n, prevSeq int64
	prevHash := ""
	var brk *AuditBreak
	errStop := Errorf(EINTERNAL, T("停止", "stop"))
	err := s.WalkAudit(ctx, 0, func(e *AuditEvent) error {
		n++
		switch {
		case e.Seq != prevSeq+1:
			brk = &AuditBreak{Seq: e.Seq, Reason: "sequence gap or reorder: expected " + strconv.FormatInt(prevSeq+1, 10)}
		case e.PrevHash != prevHash:
			brk = &AuditBreak{Seq: e.Seq, Reason: "previous-hash mismatch (an event before it was removed, inserted or changed)"}
		case e.ComputeHash() != e.Hash:
			brk = &AuditBreak{Seq: e.Seq, Reason: "hash mismatch (the event was edited)"}
		}
		if brk != nil {
			return errStop
		}
		prevSeq, prevHash = e.Seq, e.Hash
		return nil
	})
	if err == errStop {
		err = nil
	}
	return n, brk, err
}
