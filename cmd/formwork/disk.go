package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"time"

	"formwork/engine/store/sqlite"
)

// DiskCmd is `formwork disk`.
type DiskCmd struct {
	Check DiskCheckCmd `cmd:"" help:"Measure how long the data directory's disk takes to hold a commit: every record write waits for it."`
}

// DiskCheckCmd is `formwork disk check`: the embedded store's durable
// commit, timed on the data directory's own disk, so an operator can see
// before going live what the disk allows (pg_test_fsync and etcd's check
// perf answer the same question for their stores).
type DiskCheckCmd struct {
	Commits int           `help:"Durable commits to time (and as many without a flush, for comparison)." default:"300"`
	Slow    time.Duration `help:"Exit 1 when the durable commits' 99th percentile is slower than this (0: never)." default:"0"`
}

// slowDisk is the 99th percentile of a durable commit past which the
// check warns whatever --slow says: a record write waits for one.
const slowDisk = 20 * time.Millisecond

// Run times the commits in a scratch file in the data directory.
func (c *DiskCheckCmd) Run(g *Globals) error {
	if c.Commits < 10 || c.Commits > 100000 {
		return fmt.Errorf("--commits must be between 10 and 100000, not %d", c.Commits)
	}
	if err := os.MkdirAll(g.Data, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", g.Data, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	times, err := sqlite.ProbeCommits(ctx, g.Data, c.Commits)
	if err != nil {
		return err
	}
	slow := reportDisk(os.Stdout, g.Data, times, g.MongoURI != "")
	if c.Slow > 0 && slow > c.Slow {
		return exitError{code: 1}
	}
	return nil
}

// reportDisk prints what times say about the disk and returns the
// durable commits' 99th percentile.
func reportDisk(w io.Writer, dir string, times sqlite.CommitTimes, mongo bool) time.Duration {
	durable, lazy := percentiles(times.Durable), percentiles(times.Lazy)
	fmt.Fprintf(w, "data directory: %s (%d commits of each kind)\n", dir, len(times.Durable))
	fmt.Fprintf(w, "durable commit (waits for the disk, as every record write does): p50 %s  p90 %s  p99 %s\n",
		ms(durable[0]), ms(durable[1]), ms(durable[2]))
	fmt.Fprintf(w, "commit left to the OS cache (as the audit of reads is):          p50 %s  p90 %s  p99 %s\n",
		ms(lazy[0]), ms(lazy[1]), ms(lazy[2]))
	flush := max(durable[0]-lazy[0], 0)
	fmt.Fprintf(w, "the disk's flush: about %s of a durable commit\n", ms(flush))
	if durable[0] > 0 {
		fmt.Fprintf(w, "one client waiting for each write can commit at most about %d writes a second on this disk;\n"+
			"a record write also does its own work, and concurrent writers share flushes (group commit)\n",
			int(time.Second/durable[0]))
	}
	if durable[2] > slowDisk {
		fmt.Fprintf(w, "warning: 1 durable commit in 100 took longer than %s: record writes and approvals will wait as long; "+
			"a local SSD is usually under 2 ms\n", ms(durable[2]))
	}
	if mongo {
		fmt.Fprintln(w, "note: the store is MongoDB (FORMWORK_MONGO_URI): this timed the data directory's disk (uploads, backups), not the database server's")
	}
	return durable[2]
}

// percentiles are the 50th, 90th and 99th percentiles of ds (sorted in place).
func percentiles(ds []time.Duration) [3]time.Duration {
	if len(ds) == 0 {
		return [3]time.Duration{}
	}
	slices.Sort(ds)
	at := func(p int) time.Duration { return ds[min(len(ds)-1, len(ds)*p/100)] }
	return [3]time.Duration{at(50), at(90), at(99)}
}

// ms is d in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
