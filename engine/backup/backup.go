// Package backup takes encrypted, checksummed, verifiable backups of a
// store: a consistent snapshot (records, revisions, docs with the file
// chunks and the wrapped data keys, the audit chain) sealed with AES-256-GCM
// under a backup key that is not the data's master key. It knows no
// concrete backend: cmd passes a Store that can snapshot itself and an
// Opener for the snapshot's format.
package backup

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"formwork/engine"
)

// Store is a store that can copy itself consistently while open and hash
// its contents logically.
type Store interface {
	engine.Store
	// Snapshot writes a consistent copy of the store to path.
	Snapshot(ctx context.Context, path string) error
	// Digest returns a logical hash per table of everything the store holds.
	Digest(ctx context.Context) (map[string]engine.TableDigest, error)
}

// Opener opens a snapshot file written by Store.Snapshot.
type Opener func(path string) (Store, error)

// Ext is the file name extension of backups.
const Ext = ".fwbk"

// snapshotName is the snapshot's name inside a backup.
const snapshotName = "formwork.db"

// Manifest describes a backup; it is sealed inside it.
type Manifest struct {
	Created     time.Time                     `json:"created"`
	Tables      map[string]engine.TableDigest `json:"tables"`
	AuditEvents int64                         `json:"audit_events"`
	AuditHead   string                        `json:"audit_head"`
}

// Info is one backup file as List finds it.
type Info struct {
	Path string
	Size int64
	Time time.Time
}

// Steps is told how far a backup or a verify has come: done of total
// steps (create: snapshot, hash and chain, seal; verify: open, compare).
type Steps func(done, total int)

// Create writes a backup of s to dir as formwork-<UTC time>.fwbk and
// returns its path and manifest. The snapshot is reopened with open to
// hash it and check its audit chain, so a backup of a broken chain fails.
func Create(ctx context.Context, s Store, open Opener, dir string, key []byte, now time.Time) (string, *Manifest, error) {
	return CreateSteps(ctx, s, open, dir, key, now, nil)
}

// CreateSteps is Create telling step (when not nil) of its progress.
func CreateSteps(ctx context.Context, s Store, open Opener, dir string, key []byte, now time.Time, step Steps) (string, *Manifest, error) {
	if step == nil {
		step = func(int, int) {}
	}
	const total = 3
	step(0, total)
	scratch, err := os.MkdirTemp(dir, ".backup-")
	if err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	defer os.RemoveAll(scratch)
	db := filepath.Join(scratch, snapshotName)
	if err := s.Snapshot(ctx, db); err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	step(1, total)
	m, err := inspect(ctx, open, db)
	if err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	step(2, total)
	m.Created = now.UTC()
	archive := filepath.Join(scratch, "archive.tar")
	if err := writeArchive(archive, m, db); err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	name := filepath.Join(dir, "formwork-"+m.Created.Format("20060102T150405Z")+Ext)
	tmp := filepath.Join(scratch, "out"+Ext)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	if err := seal(f, key, archive); err != nil {
		f.Close()
		return "", nil, fmt.Errorf("backup create: seal: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	if _, err := os.Stat(name); err == nil {
		return "", nil, fmt.Errorf("backup create: %s exists", name)
	}
	if err := os.Rename(tmp, name); err != nil {
		return "", nil, fmt.Errorf("backup create: %w", err)
	}
	step(total, total)
	return name, m, nil
}

// inspect hashes the snapshot at db and verifies its audit chain.
func inspect(ctx context.Context, open Opener, db string) (*Manifest, error) {
	st, err := open(db)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tables, err := st.Digest(ctx)
	if err != nil {
		return nil, err
	}
	n, brk, err := engine.VerifyAudit(ctx, st)
	if err != nil {
		return nil, err
	}
	if brk != nil {
		return nil, fmt.Errorf("audit chain broken at event %d: %s", brk.Seq, brk.Reason)
	}
	m := &Manifest{Tables: tables, AuditEvents: n}
	page, err := st.FindAuditEvents(ctx, engine.AuditQuery{Limit: 1})
	if err == nil && len(page.Items) > 0 {
		m.AuditHead = page.Items[0].Hash
	}
	return m, nil
}

func writeArchive(path string, m *Manifest, db string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(mj)), ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := tw.Write(mj); err != nil {
		return err
	}
	in, err := os.Open(db)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: snapshotName, Mode: 0o600, Size: st.Size(), ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return err
	}
	return errors.Join(tw.Close(), f.Sync())
}

// Extract checks and decrypts the backup at path into dir (which must
// exist): dir/formwork.db and the manifest sealed with it.
func Extract(path string, key []byte, dir string) (*Manifest, error) {
	archive := filepath.Join(dir, "archive.tar")
	f, err := os.OpenFile(archive, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(archive)
	if err := open(f, key, path); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return readArchive(archive, dir)
}

func readArchive(archive, dir string) (*Manifest, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var m *Manifest
	gotDB := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: archive: %v", ErrCorrupt, err)
		}
		switch h.Name {
		case "manifest.json":
			m = &Manifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
			}
		case snapshotName:
			out, err := os.OpenFile(filepath.Join(dir, snapshotName), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return nil, err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return nil, err
			}
			if err := errors.Join(out.Sync(), out.Close()); err != nil {
				return nil, err
			}
			gotDB = true
		}
	}
	if m == nil || !gotDB {
		return nil, fmt.Errorf("%w: the archive lacks its manifest or snapshot", ErrCorrupt)
	}
	return m, nil
}

// Check opens the extracted snapshot in dir and compares its logical hash
// and audit chain with the manifest sealed with it.
func Check(ctx context.Context, open Opener, dir string, m *Manifest) error {
	got, err := inspect(ctx, open, filepath.Join(dir, snapshotName))
	if err != nil {
		return err
	}
	if diff := DiffTables(m.Tables, got.Tables); len(diff) > 0 {
		return fmt.Errorf("the restored copy differs from the backup's manifest: %s", strings.Join(diff, "; "))
	}
	if got.AuditEvents != m.AuditEvents || got.AuditHead != m.AuditHead {
		return fmt.Errorf("the restored audit chain (%d events, head %.12s) is not the backed-up one (%d events, head %.12s)",
			got.AuditEvents, got.AuditHead, m.AuditEvents, m.AuditHead)
	}
	return nil
}

// Verify restores the backup at path into a scratch directory under tmp,
// compares every table's logical hash with the manifest and verifies the
// audit chain. It returns the manifest.
func Verify(ctx context.Context, open Opener, path string, key []byte, tmp string) (*Manifest, error) {
	return VerifySteps(ctx, open, path, key, tmp, nil)
}

// VerifySteps is Verify telling step (when not nil) of its progress.
func VerifySteps(ctx context.Context, open Opener, path string, key []byte, tmp string, step Steps) (*Manifest, error) {
	if step == nil {
		step = func(int, int) {}
	}
	step(0, 2)
	scratch, err := os.MkdirTemp(tmp, "formwork-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	m, err := Extract(path, key, scratch)
	if err != nil {
		return nil, err
	}
	step(1, 2)
	if err := Check(ctx, open, scratch, m); err != nil {
		return m, err
	}
	step(2, 2)
	return m, nil
}

// DiffTables describes how table digests b differ from a, one line per
// table, in name order; nil when they are the same.
func DiffTables(a, b map[string]engine.TableDigest) []string {
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out []string
	for _, n := range sorted {
		x, y := a[n], b[n]
		if x != y {
			out = append(out, fmt.Sprintf("%s: %d rows -> %d rows (contents differ)", n, x.Rows, y.Rows))
		}
	}
	return out
}

// List returns the backups in dir, newest first.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []Info
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), Ext) || !strings.HasPrefix(e.Name(), "formwork-") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		t, err := time.Parse("20060102T150405Z", strings.TrimSuffix(strings.TrimPrefix(e.Name(), "formwork-"), Ext))
		if err != nil {
			continue
		}
		out = append(out, Info{Path: filepath.Join(dir, e.Name()), Size: fi.Size(), Time: t})
	}
	sortNewestFirst(out)
	return out, nil
}

func sortNewestFirst(list []Info) {
	sort.Slice(list, func(i, j int) bool { return list[i].Time.After(list[j].Time) })
}
