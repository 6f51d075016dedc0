package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"formwork/engine/backup"
	"formwork/engine/store/sqlite"
	"formwork/server"
)

// backupSchedule takes a backup when the newest one is older than every,
// then prunes to the retention; serve checks firstCheck after it starts
// (so short runs take none) and then every hour (or a quarter of every).
type backupSchedule struct {
	db, data    string
	dir, copy   string
	every       time.Duration
	keep        backup.Retention
	zone        *time.Location
	getenv      func(string) string
	clock       func() time.Time
	log         *slog.Logger
	firstCheck  time.Duration
	checkPeriod time.Duration
	failed      func() // counts a failed check (formwork_backup_failures_total); nil: nothing counts
}

// newBackupSchedule is the schedule the settings describe; nil when
// scheduled backups are off or the store is MongoDB (`formwork backup
// create` backs it up on demand).
func newBackupSchedule(g *Globals, p *Process, clock func() time.Time, log *slog.Logger) *backupSchedule {
	if g.MongoURI != "" || p.BackupEvery == 0 {
		return nil
	}
	every := time.Duration(p.BackupEvery)
	s := &backupSchedule{db: filepath.Join(g.Data, dbFile), data: g.Data, dir: p.BackupDir, copy: p.BackupCopyDir,
		every: every, keep: backup.Retention{Daily: p.BackupDaily, Weekly: p.BackupWeekly}, zone: g.zone(), getenv: g.getenv, clock: clock, log: log,
		firstCheck: 10 * time.Minute, checkPeriod: min(time.Hour, every/4)}
	if s.dir == "" {
		s.dir = backupDir(g, "")
	}
	return s
}

// run checks on schedule until ctx ends; a failed backup is logged and
// tried again at the next check.
func (s *backupSchedule) run(ctx context.Context) {
	t := time.NewTimer(s.firstCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.check(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduled backup failed", "err", err)
			if s.failed != nil {
				s.failed()
			}
		}
		t.Reset(s.checkPeriod)
	}
}

// runs are the backups /admin/backups takes and verifies, as check and
// the backup command do: into the schedule's directory, under the backup key.
func (s *backupSchedule) runs() *server.BackupRuns {
	return &server.BackupRuns{
		Create: func(ctx context.Context, step func(done, total int)) (string, int64, error) {
			key, _, err := backup.LoadKey(s.getenv, "", s.data, true)
			if err != nil {
				return "", 0, err
			}
			if err := os.MkdirAll(s.dir, 0o700); err != nil {
				return "", 0, err
			}
			st, err := sqlite.Open(s.db, sqlite.Options{Now: s.clock, Readers: 1})
			if err != nil {
				return "", 0, fmt.Errorf("open store: %w", err)
			}
			path, m, err := backup.CreateSteps(ctx, st, openSQLiteBackup, s.dir, key, s.clock(), step)
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", 0, err
			}
			return filepath.Base(path), m.AuditEvents, nil
		},
		Verify: func(ctx context.Context, name string, step func(done, total int)) (int64, error) {
			key, _, err := backup.LoadKey(s.getenv, "", s.data, false)
			if err != nil {
				return 0, err
			}
			m, err := backup.VerifySteps(ctx, openSQLiteBackup, filepath.Join(s.dir, filepath.Base(name)), key, os.TempDir(), step)
			if err != nil {
				return 0, err
			}
			return m.AuditEvents, nil
		},
	}
}

// check takes a backup if one is due, copies it and prunes both places.
func (s *backupSchedule) check(ctx context.Context) error {
	list, err := backup.List(s.dir)
	if err != nil {
		return err
	}
	now := s.clock()
	// half a check of slack, so a timer a second early does not slip the backup by a whole check
	if !backup.Due(list, now, s.every-s.checkPeriod/2) {
		return nil
	}
	key, generated, err := backup.LoadKey(s.getenv, "", s.data, true)
	if err != nil {
		return err
	}
	if generated {
		s.log.Warn("generated a backup key next to the data; copy it off this machine (a backup cannot be read without it) and pass it as "+backup.EnvKey,
			"file", filepath.Join(s.data, backup.KeyFile))
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	st, err := sqlite.Open(s.db, sqlite.Options{Now: s.clock, Readers: 1})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	path, m, err := backup.Create(ctx, st, openSQLiteBackup, s.dir, key, now)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.log.Info("backup taken", "file", path, "records", m.Tables["records"].Rows, "audit_events", m.AuditEvents)
	dirs := []string{s.dir}
	if s.copy != "" {
		if err := copyFile(path, filepath.Join(s.copy, filepath.Base(path))); err != nil {
			return fmt.Errorf("copy backup: %w", err)
		}
		dirs = append(dirs, s.copy)
	}
	for _, d := range dirs {
		if err := s.prune(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *backupSchedule) prune(dir string) error {
	list, err := backup.List(dir)
	if err != nil {
		return err
	}
	_, remove := s.keep.Prune(list, s.zone)
	for _, b := range remove {
		if err := os.Remove(b.Path); err != nil {
			return fmt.Errorf("prune backups: %w", err)
		}
		s.log.Info("backup removed by retention", "file", b.Path)
	}
	return nil
}

// copyFile copies src to dst through a temporary name, so dst is whole or absent.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err = errors.Join(err, out.Sync(), out.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// listBackups is /admin/backups' listing of dir.
func listBackups(dir string) ([]server.BackupFile, error) {
	list, err := backup.List(dir)
	if err != nil {
		return nil, err
	}
	out := make([]server.BackupFile, len(list))
	for i, b := range list {
		out[i] = server.BackupFile{Name: filepath.Base(b.Path), Size: b.Size, Time: b.Time}
	}
	return out, nil
}
