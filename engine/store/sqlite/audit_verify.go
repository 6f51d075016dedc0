package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"unsafe"

	"formwork/engine"
)

// verifyChunk is how many events one query of WalkAuditChain reads.
const verifyChunk = 50000

// sqlVerifyAudit reads the hashed columns, in the order of verifyEvent.
const sqlVerifyAudit = `SELECT seq, time, prev_hash, hash, actor, ip, action, app, form, object, result, reason, fields, detail
FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`

// verifyCols is the number of columns sqlVerifyAudit packs.
const verifyCols = 13

// WalkAuditChain calls fn for every event in Seq order, as WalkAudit does,
// for engine.VerifyAudit: the event and every string in it are valid only
// during the call (they point into the row being read), so fn copies what
// it keeps.
func (s *Store) WalkAuditChain(ctx context.Context, fn func(*engine.AuditEvent) error) error {
	var (
		e     engine.AuditEvent
		cols  [verifyCols]sql.RawBytes
		after int64
	)
	for {
		n, err := s.walkVerifyChunk(ctx, after, func(seq int64) error {
			if err := verifyEvent(&e, seq, &cols); err != nil {
				return fmt.Errorf("sqlite verify audit %d: %w", seq, err)
			}
			after = seq
			return fn(&e)
		}, &cols)
		if err != nil {
			return err
		}
		if n < verifyChunk {
			return nil
		}
	}
}

// walkVerifyChunk reads up to verifyChunk events after after, scanning
// each into lens and pack before calling row.
func (s *Store) walkVerifyChunk(ctx context.Context, after int64, row func(seq int64) error, cols *[verifyCols]sql.RawBytes) (int, error) {
	conn, err := s.withMmap(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite verify audit: %w", err)
	}
	defer s.releaseMmap(conn)
	rows, err := conn.QueryContext(ctx, sqlVerifyAudit, after, verifyChunk)
	if err != nil {
		return 0, fmt.Errorf("sqlite verify audit: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7], &cols[8], &cols[9], &cols[10], &cols[11], &cols[12]); err != nil {
			return n, fmt.Errorf("sqlite verify audit: %w", err)
		}
		if err := row(seq); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("sqlite verify audit: %w", err)
	}
	return n, nil
}

// verifyEvent fills e from the packed columns, pointing into them.
func verifyEvent(e *engine.AuditEvent, seq int64, c *[verifyCols]sql.RawBytes) error {
	t := unsafeString(c[0])
	at, ok := parseStoredTime(t)
	if !ok {
		at = parseTime(t)
	}
	fields, err := parseFields(c[11], e.Fields[:0])
	if err != nil {
		return err
	}
	*e = engine.AuditEvent{Seq: seq, Time: at, PrevHash: unsafeString(c[1]), Hash: unsafeString(c[2]),
		Actor: unsafeString(c[3]), IP: unsafeString(c[4]), Action: unsafeString(c[5]), App: unsafeString(c[6]),
		Form: unsafeString(c[7]), Object: unsafeString(c[8]), Result: unsafeString(c[9]), Reason: unsafeString(c[10]),
		Fields: fields}
	if len(c[12]) > 0 {
		e.Detail = json.RawMessage(c[12])
	}
	return nil
}

// parseFields reads the stored JSON array of field names into buf: plain
// strings point into b; anything with an escape goes through encoding/json.
func parseFields(b []byte, buf []string) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' || bytes.IndexByte(b, '\\') >= 0 {
		var out []string
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("fields: %w", err)
		}
		return out, nil
	}
	in := b[1 : len(b)-1]
	for len(in) > 0 {
		if in[0] != '"' {
			return nil, fmt.Errorf("fields: %q is not an array of names", b)
		}
		end := bytes.IndexByte(in[1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("fields: %q is not an array of names", b)
		}
		buf = append(buf, unsafeString(in[1:1+end]))
		in = in[end+2:]
		if len(in) > 0 {
			if in[0] != ',' {
				return nil, fmt.Errorf("fields: %q is not an array of names", b)
			}
			in = in[1:]
		}
	}
	if len(buf) == 0 {
		return nil, nil
	}
	return buf, nil
}

// unsafeString views b as a string without copying: only while b is not
// written (here: until the next row is scanned).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
