package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"formwork/engine"
	"formwork/engine/backup"
	"formwork/engine/store/mongo"
)

// mongoBackupStore is the MongoDB store as a backup.Store: its snapshot is
// a logical dump of every collection through the driver.
type mongoBackupStore struct {
	*mongo.Store
	log *slog.Logger
}

// Snapshot dumps the database to path, saying in the log whether the dump
// is point-in-time.
func (s mongoBackupStore) Snapshot(ctx context.Context, path string) error {
	info, err := s.DumpFile(ctx, path)
	if err != nil {
		return err
	}
	if !info.PointInTime {
		s.log.Warn("the MongoDB dump is not point-in-time: collections were read one after another, so a write made during the dump may be in it only in part; stop the servers while it runs for a consistent backup, or run on a replica set with transactions on",
			"database", s.Database(), "why", info.Why)
	} else {
		s.log.Info("the MongoDB dump was read in one snapshot session (point-in-time)", "database", s.Database())
	}
	return nil
}

// scratchMongo is a backup restored into a scratch database, dropped when
// it is closed.
type scratchMongo struct{ mongoBackupStore }

// Close drops the scratch database and disconnects.
func (s scratchMongo) Close() error {
	return errors.Join(s.Drop(context.Background()), s.Store.Close())
}

// mongoOptions are the store options for database name on the configured server.
func (g *Globals) mongoOptions(name string) mongo.Options {
	return mongo.Options{Database: name, Now: time.Now, DisableTransactions: g.MongoTransactions == "off"}
}

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// openBackupSnapshot opens the snapshot a backup holds: a SQLite file as
// it is, a MongoDB dump by loading it into a fresh scratch database on the
// server at FORMWORK_MONGO_URI (dropped when the store is closed).
func (g *Globals) openBackupSnapshot(path string) (backup.Store, error) {
	head := make([]byte, len(sqliteMagic))
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err == nil && string(head) == sqliteMagic {
		return openSQLiteBackup(path)
	}
	uri := g.MongoURI
	if uri == "" {
		return nil, errors.New("this is a MongoDB backup: set FORMWORK_MONGO_URI to a server it can be restored on (verify loads it into a scratch database there and drops it after)")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	st, err := mongo.Restore(ctx, uri, g.mongoOptions("formwork_scratch_"+hex.EncodeToString(b[:])), path)
	if err != nil {
		return nil, fmt.Errorf("load the dump into a scratch database: %w", err)
	}
	return scratchMongo{mongoBackupStore{Store: st, log: newLogger(io.Discard)}}, nil
}

// createMongo backs up the MongoDB database at uri into dir.
func (c *BackupCreateCmd) createMongo(ctx context.Context, g *Globals, uri, dir string, key []byte) (string, *backup.Manifest, error) {
	st, err := mongo.Open(ctx, uri, g.mongoOptions(""))
	if err != nil {
		return "", nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	return backup.Create(ctx, mongoBackupStore{Store: st, log: newLogger(os.Stderr)}, g.openBackupSnapshot, dir, key, time.Now())
}

// restoreMongo restores the backup into the new database c.Database on the
// server at uri; the master key must unwrap every app's data keys there,
// else the database is dropped again.
func (c *BackupRestoreCmd) restoreMongo(ctx context.Context, g *Globals, uri string, key []byte) error {
	if c.Database == "" {
		return errors.New("on MongoDB give --database NEWNAME: the backup is restored into that new, empty database on the server at FORMWORK_MONGO_URI")
	}
	n, err := mongo.CountCollections(ctx, uri, c.Database)
	if err != nil {
		return err
	}
	if n > 0 && !c.DryRun {
		return fmt.Errorf("database %q already holds a store (%d collections); restore into a new database (try --dry-run to see what would change)", c.Database, n)
	}
	scratch, err := os.MkdirTemp("", "formwork-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	m, err := c.extract(ctx, g, key, scratch)
	if err != nil {
		return err
	}
	if c.DryRun {
		return c.dryRunMongo(ctx, g, uri, m, n > 0)
	}
	master, fromEnv, err := c.masterKey(g, os.Stdin)
	if err != nil {
		return err
	}
	st, err := mongo.Restore(ctx, uri, g.mongoOptions(c.Database), filepath.Join(scratch, dbFile))
	if err != nil {
		return err
	}
	defer st.Close()
	apps, err := checkMasterKey(ctx, st, master)
	if err != nil {
		return errors.Join(err, st.Drop(context.WithoutCancel(ctx)))
	}
	if !fromEnv {
		if err := os.MkdirAll(g.Data, 0o700); err != nil {
			return err
		}
		if err := engine.WriteMasterKeyFile(g.Data, master); err != nil {
			return err
		}
	}
	fmt.Printf("restored %s into database %s: %s, %d audit events, data keys of %d app(s) unwrap under master key %s\n",
		c.File, c.Database, summary(m.Tables), m.AuditEvents, apps, engine.Fingerprint(master))
	return nil
}

func (c *BackupRestoreCmd) dryRunMongo(ctx context.Context, g *Globals, uri string, m *backup.Manifest, exists bool) error {
	fmt.Printf("dry run: %s from %s is intact: %s, %d audit events\n", c.File, m.Created.Format(time.RFC3339), summary(m.Tables), m.AuditEvents)
	if !exists {
		fmt.Printf("would create database %s with these contents\n", c.Database)
		return nil
	}
	cur, err := mongo.Open(ctx, uri, g.mongoOptions(c.Database))
	if err != nil {
		return err
	}
	defer cur.Close()
	now, err := cur.Digest(ctx)
	if err != nil {
		return err
	}
	return printDryRunDiff("database "+c.Database, backup.DiffTables(now, m.Tables))
}
