package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"formwork/engine"
	"formwork/engine/backup"
	"formwork/engine/store/sqlite"
)

// BackupCmd groups the backup commands.
type BackupCmd struct {
	Create  BackupCreateCmd  `cmd:"" help:"Write an encrypted, checksummed backup of the store (an online snapshot, or on MongoDB a dump of every collection; the server may keep running)."`
	List    BackupListCmd    `cmd:"" help:"List the backups in a directory, newest first."`
	Verify  BackupVerifyCmd  `cmd:"" help:"Restore a backup into a scratch directory (on MongoDB a scratch database) and compare every table's logical hash and the audit chain."`
	Restore BackupRestoreCmd `cmd:"" help:"Restore a backup into a new data directory (--data), or on MongoDB a new database (--database); asks for the master key."`
}

// backupDir is where backups go by default: DATA/backups.
func backupDir(g *Globals, out string) string {
	if out != "" {
		return out
	}
	return filepath.Join(g.Data, "backups")
}

func openSQLiteBackup(path string) (backup.Store, error) {
	s, err := sqlite.Open(path, sqlite.Options{Now: time.Now, Readers: 2})
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	return s, nil
}

// BackupCreateCmd is `formwork backup create [--out DIR]`.
type BackupCreateCmd struct {
	Out string `help:"Directory for the backup file (default DATA/backups)." type:"path"`
	Key string `help:"File holding the backup key (base64); default FORMWORK_BACKUP_KEY, else DATA/backup.key (generated on first use)." type:"path"`
}

// Run takes the backup.
func (c *BackupCreateCmd) Run(g *Globals) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	uri := g.MongoURI
	if uri == "" {
		if _, err := os.Stat(filepath.Join(g.Data, dbFile)); err != nil {
			return fmt.Errorf("no store to back up at %s: %w", filepath.Join(g.Data, dbFile), err)
		}
	}
	if err := os.MkdirAll(g.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	key, generated, err := backup.LoadKey(g.getenv, c.Key, g.Data, true)
	if err != nil {
		return err
	}
	if generated {
		g.newLogger(os.Stderr).Warn("generated a backup key next to the data; copy it off this machine (a backup cannot be read without it) and pass it as "+backup.EnvKey,
			"file", filepath.Join(g.Data, backup.KeyFile))
	}
	dir := backupDir(g, c.Out)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create backup directory: %w", err)
	}
	start := time.Now()
	path, m, err := c.create(ctx, g, uri, dir, key)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("backup %s: %d bytes, %s, %d audit events, in %.2fs\n", path, fi.Size(), summary(m.Tables), m.AuditEvents, time.Since(start).Seconds())
	return nil
}

// create backs up the store FORMWORK_MONGO_URI selects into dir.
func (c *BackupCreateCmd) create(ctx context.Context, g *Globals, uri, dir string, key []byte) (string, *backup.Manifest, error) {
	if uri != "" {
		return c.createMongo(ctx, g, uri, dir, key)
	}
	s, err := sqlite.Open(filepath.Join(g.Data, dbFile), sqlite.Options{Now: time.Now})
	if err != nil {
		return "", nil, fmt.Errorf("open store: %w", err)
	}
	defer s.Close()
	return backup.Create(ctx, s, openSQLiteBackup, dir, key, time.Now())
}

// summary names the row counts of the tables people know.
func summary(t map[string]engine.TableDigest) string {
	return fmt.Sprintf("%d records, %d revisions, %d docs", t["records"].Rows, t["revisions"].Rows, t["docs"].Rows)
}

// BackupListCmd is `formwork backup list [--out DIR]`.
type BackupListCmd struct {
	Out string `help:"Directory of the backups (default DATA/backups)." type:"path"`
}

// Run lists the backups.
func (c *BackupListCmd) Run(g *Globals) error {
	list, err := backup.List(backupDir(g, c.Out))
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Println("no backups in", backupDir(g, c.Out))
		return nil
	}
	for _, b := range list {
		fmt.Printf("%s  %10d bytes  %s\n", b.Time.Format(time.RFC3339), b.Size, b.Path)
	}
	return nil
}

// BackupVerifyCmd is `formwork backup verify FILE`.
type BackupVerifyCmd struct {
	File string `arg:"" help:"The backup file." type:"existingfile"`
	Key  string `help:"File holding the backup key; default FORMWORK_BACKUP_KEY, else DATA/backup.key." type:"path"`
}

// Run verifies the backup: exit 0 if it restores to exactly what was
// backed up, else exit 1 with the reason.
func (c *BackupVerifyCmd) Run(g *Globals) error {
	key, _, err := backup.LoadKey(g.getenv, c.Key, g.Data, false)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := backup.Verify(context.Background(), g.openBackupSnapshot, c.File, key, os.TempDir())
	if err != nil {
		fmt.Printf("refused: %s: %v\n", c.File, err)
		return exitError{1}
	}
	fmt.Printf("ok: %s from %s: %s, audit chain intact (%d events), in %.2fs\n", c.File, m.Created.Format(time.RFC3339), summary(m.Tables), m.AuditEvents, time.Since(start).Seconds())
	return nil
}

// BackupRestoreCmd is `formwork backup restore FILE --data NEWDIR`.
type BackupRestoreCmd struct {
	File      string `arg:"" help:"The backup file." type:"existingfile"`
	Key       string `help:"File holding the backup key; default FORMWORK_BACKUP_KEY." type:"path"`
	MasterKey string `name:"master-key" help:"File holding the master key the backed-up data keys are wrapped by; default FORMWORK_MASTER_KEY, else asked on standard input." type:"path"`
	Database  string `help:"On MongoDB (FORMWORK_MONGO_URI): the new database to restore into."`
	DryRun    bool   `name:"dry-run" help:"Check the backup and say what would change; write nothing."`
}

// Run restores into the (new or empty) data directory g.Data: the backup
// is decrypted and checked in a scratch directory inside it, the master
// key must unwrap every app's data keys, and only then does the store file
// take its place. Without FORMWORK_MASTER_KEY the key is written to
// DATA/master.key, as a first start would.
func (c *BackupRestoreCmd) Run(g *Globals) error {
	ctx := context.Background()
	key, _, err := backup.LoadKey(g.getenv, c.Key, g.Data, false)
	if err != nil {
		return err
	}
	if uri := g.MongoURI; uri != "" {
		return c.restoreMongo(ctx, g, uri, key)
	}
	if c.Database != "" {
		return errors.New("--database names a MongoDB database: set FORMWORK_MONGO_URI to restore on MongoDB, or leave it out to restore into --data")
	}
	target := filepath.Join(g.Data, dbFile)
	_, statErr := os.Stat(target)
	exists := statErr == nil
	if exists && !c.DryRun {
		return fmt.Errorf("%s already holds a store; restore into a new directory (try --dry-run to see what would change)", g.Data)
	}
	if err := os.MkdirAll(g.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	scratch, err := os.MkdirTemp(g.Data, ".restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	m, err := c.extract(ctx, g, key, scratch)
	if err != nil {
		return err
	}
	if c.DryRun {
		return c.dryRun(ctx, g, m, exists)
	}
	master, fromEnv, err := c.masterKey(g, os.Stdin)
	if err != nil {
		return err
	}
	restored, err := openSQLiteBackup(filepath.Join(scratch, dbFile))
	if err != nil {
		return err
	}
	apps, err := checkMasterKey(ctx, restored, master)
	restored.Close()
	if err != nil {
		return err
	}
	if !fromEnv {
		if err := engine.WriteMasterKeyFile(g.Data, master); err != nil {
			return err
		}
	}
	if err := os.Rename(filepath.Join(scratch, dbFile), target); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Printf("restored %s into %s: %s, %d audit events, data keys of %d app(s) unwrap under master key %s\n",
		c.File, g.Data, summary(m.Tables), m.AuditEvents, apps, engine.Fingerprint(master))
	return nil
}

// extract decrypts the backup into scratch and checks it there; a damaged
// one is refused with exit code 1.
func (c *BackupRestoreCmd) extract(ctx context.Context, g *Globals, key []byte, scratch string) (*backup.Manifest, error) {
	m, err := backup.Extract(c.File, key, scratch)
	if err == nil {
		err = backup.Check(ctx, g.openBackupSnapshot, scratch, m)
	}
	if err != nil {
		fmt.Printf("refused: %s: %v\n", c.File, err)
		return nil, exitError{1}
	}
	return m, nil
}

func (c *BackupRestoreCmd) dryRun(ctx context.Context, g *Globals, m *backup.Manifest, exists bool) error {
	fmt.Printf("dry run: %s from %s is intact: %s, %d audit events\n", c.File, m.Created.Format(time.RFC3339), summary(m.Tables), m.AuditEvents)
	if !exists {
		fmt.Printf("would create %s with these contents\n", filepath.Join(g.Data, dbFile))
		return nil
	}
	cur, err := openSQLiteBackup(filepath.Join(g.Data, dbFile))
	if err != nil {
		return err
	}
	defer cur.Close()
	now, err := cur.Digest(ctx)
	if err != nil {
		return err
	}
	return printDryRunDiff(g.Data, backup.DiffTables(now, m.Tables))
}

// printDryRunDiff says how the store at where differs from the backup.
func printDryRunDiff(where string, diff []string) error {
	if len(diff) == 0 {
		fmt.Printf("%s already holds exactly this data; nothing would change\n", where)
		return nil
	}
	fmt.Printf("%s holds other data; restoring would change (current -> backup):\n", where)
	for _, d := range diff {
		fmt.Println("  " + d)
	}
	fmt.Println("restore refuses a place that holds a store: move it away first")
	return nil
}

// masterKey reads the master key from --master-key, FORMWORK_MASTER_KEY or
// standard input.
func (c *BackupRestoreCmd) masterKey(g *Globals, stdin io.Reader) ([]byte, bool, error) {
	if c.MasterKey != "" {
		b, err := os.ReadFile(c.MasterKey)
		if err != nil {
			return nil, false, fmt.Errorf("read master key: %w", err)
		}
		k, err := engine.ParseMasterKey(string(b))
		return k, false, err
	}
	if v := g.MasterKeyFile.value; v != "" {
		k, err := engine.ParseMasterKey(v)
		return k, true, err
	}
	fmt.Fprint(os.Stderr, "master key of the backed-up data (base64): ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && (err != io.EOF || strings.TrimSpace(line) == "") {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	k, err := engine.ParseMasterKey(line)
	return k, false, err
}

// checkMasterKey unwraps every app's data keys in the restored store s
// under master, so a wrong key is refused before the store is put to use.
func checkMasterKey(ctx context.Context, s engine.Store, master []byte) (int, error) {
	kr, err := engine.NewKeyring(s, master, time.Now)
	if err != nil {
		return 0, err
	}
	docs, err := s.FindDocs(ctx, engine.DocQuery{Kind: engine.KindKeyring})
	if err != nil {
		return 0, err
	}
	for _, d := range docs {
		if _, err := kr.CurrentKeyID(ctx, d.ID); err != nil {
			return 0, fmt.Errorf("restore refused: the master key does not open the backed-up data keys: %w", err)
		}
	}
	return len(docs), nil
}
