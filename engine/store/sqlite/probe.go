package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// CommitTimes are how long commits took on a disk, one duration each.
type CommitTimes struct {
	// Durable commits wait for the disk to hold them (synchronous FULL),
	// as every record write of the store does.
	Durable []time.Duration
	// Lazy commits are the same writes left in the operating system's
	// cache (synchronous NORMAL), as the store's audit of reads is:
	// Durable less Lazy is the disk's flush.
	Lazy []time.Duration
}

// probeRow is the size of the row each probe commit inserts: about a
// record of the peer workload with its head.
const probeRow = 600

// ProbeCommits measures n durable and n lazy one-row commits in a
// database file of its own in dir, made as Open makes the store's (WAL,
// the same page size) and removed afterwards with its WAL and index
// files. The durable and lazy commits alternate, so a change in the
// disk's load touches both alike.
func ProbeCommits(ctx context.Context, dir string, n int) (CommitTimes, error) {
	if n <= 0 {
		return CommitTimes{}, errors.New("sqlite probe: the number of commits must be positive")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %w", err)
	}
	if !fi.IsDir() {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".formwork-probe-*.db") // empty: createFile makes it a database
	if err != nil {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %w", err)
	}
	path := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			_ = os.Remove(path + suffix)
		}
	}()
	if err := createFile(path, newPageSize); err != nil {
		return CommitTimes{}, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return CommitTimes{}, fmt.Errorf("sqlite probe: %w", err)
	}
	body := strings.Repeat("x", probeRow)
	commit := func(sync string) (time.Duration, error) {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = `+sync); err != nil {
			return 0, err
		}
		start := time.Now()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO probe (body) VALUES (?)`, body); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	out := CommitTimes{Durable: make([]time.Duration, 0, n), Lazy: make([]time.Duration, 0, n)}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		d, err := commit("FULL")
		if err != nil {
			return out, fmt.Errorf("sqlite probe: %w", err)
		}
		l, err := commit("NORMAL")
		if err != nil {
			return out, fmt.Errorf("sqlite probe: %w", err)
		}
		out.Durable, out.Lazy = append(out.Durable, d), append(out.Lazy, l)
	}
	return out, nil
}
