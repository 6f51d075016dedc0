package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"strings"
	"time"

	"formwork/engine"
)

// Snapshot writes a consistent copy of the whole database to path (which
// must not exist) with VACUUM INTO, while the store stays open: it reads in
// one transaction, so writers go on and the copy holds every commit before
// it started and none after. The copy is compact and has no WAL.
// It runs on a connection of its own: on the writer connection (as it
// once did) every write, and every short read that takes the idle writer
// (warmReader), waited for the whole copy; VACUUM INTO writes, which the
// read-only pool's connections refuse.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", s.snapDSN)
	if err != nil {
		return fmt.Errorf("sqlite snapshot: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("sqlite snapshot: %w", err)
	}
	return nil
}

// Digest returns a logical hash of every table the store keeps (records,
// revisions, docs with their tags and unique keys, the audit chain, the
// outbox, counters), each row hashed column by column in primary-key order.
func (s *Store) Digest(ctx context.Context) (map[string]engine.TableDigest, error) {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite digest: %w", err)
	}
	defer conn.Close()
	// one read transaction: every table is hashed at the same point in time
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite digest: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_version' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite digest: %w", err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite digest: %w", err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]engine.TableDigest{}
	for _, t := range tables {
		order, err := orderColumns(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		d, err := digestTable(ctx, tx, t, order)
		if err != nil {
			return nil, err
		}
		out[t] = d
	}
	return out, nil
}

// orderColumns is the table's primary key, else all its columns.
func orderColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("sqlite digest %s: %w", table, err)
	}
	defer rows.Close()
	var all []string
	pk := map[int]string{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("sqlite digest %s: %w", table, err)
		}
		all = append(all, quoteIdent(name))
		if n > 0 {
			pk[n] = quoteIdent(name)
		}
	}
	if len(pk) == 0 {
		return all, rows.Err()
	}
	keys := make([]string, len(pk))
	for i := range keys {
		keys[i] = pk[i+1]
	}
	return keys, rows.Err()
}

func digestTable(ctx context.Context, tx *sql.Tx, table string, order []string) (engine.TableDigest, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return engine.TableDigest{}, fmt.Errorf("sqlite digest %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return engine.TableDigest{}, fmt.Errorf("sqlite digest %s: %w", table, err)
	}
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return engine.TableDigest{}, fmt.Errorf("sqlite digest %s: %w", table, err)
		}
		for _, v := range vals {
			hashValue(h, v)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return engine.TableDigest{}, fmt.Errorf("sqlite digest %s: %w", table, err)
	}
	return engine.TableDigest{Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// hashValue writes a type tag, a length and the bytes of v, so no two
// different rows hash alike by shifting bytes between columns.
func hashValue(h hash.Hash, v any) {
	var b []byte
	tag := byte('n')
	switch x := v.(type) {
	case nil:
	case int64:
		tag, b = 'i', binary.BigEndian.AppendUint64(nil, uint64(x))
	case float64:
		tag, b = 'f', binary.BigEndian.AppendUint64(nil, math.Float64bits(x))
	case string:
		tag, b = 's', []byte(x)
	case []byte:
		tag, b = 'b', x
	case bool:
		tag, b = 'i', binary.BigEndian.AppendUint64(nil, map[bool]uint64{true: 1}[x])
	case time.Time:
		tag, b = 's', []byte(fmtTime(x))
	default:
		tag, b = 's', []byte(fmt.Sprint(x))
	}
	h.Write([]byte{tag})
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
