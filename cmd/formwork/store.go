package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"formwork/engine"
	"formwork/engine/store/mongo"
	"formwork/engine/store/sqlite"
	"formwork/migrations"
)

// The settings that switch to the scale-out backends (Globals.MongoURI,
// Process.RedisAddr), named in messages and tests.
const (
	envMongoURI  = "FORMWORK_MONGO_URI"
	envRedisAddr = "FORMWORK_REDIS_ADDR"
)

// dbFile is the embedded store's file inside the data directory.
const dbFile = "formwork.db"

// openStoreRaw opens the store the environment selects: MongoDB when
// FORMWORK_MONGO_URI is set, else SQLite at DATA/formwork.db (creating the
// data directory, readable by its owner only). It runs no migrations.
func openStoreRaw(g *Globals) (engine.Store, func(), error) {
	if g.MongoURI != "" {
		return openMongo(g.MongoURI, g.MongoTransactions == "off")
	}
	if err := os.MkdirAll(g.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	s, err := sqlite.Open(filepath.Join(g.Data, dbFile), sqlite.Options{Now: time.Now})
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return s, func() { _ = s.Close() }, nil
}

// openMongo opens the MongoDB store; FORMWORK_MONGO_TRANSACTIONS=off
// accepts a server without transactions (weaker: see mongo.Options).
func openMongo(uri string, noTransactions bool) (engine.Store, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mongo.Open(ctx, uri, mongo.Options{Now: time.Now, DisableTransactions: noTransactions})
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return s, func() { _ = s.Close() }, nil
}

// openStore opens the store (see openStoreRaw) and applies pending
// migrations, so every command sees at least the root unit. The returned
// func closes the store. The store encrypts sensitive values at rest (see
// encryptStore); its Keyring goes to NewService.
func openStore(g *Globals) (*engine.EncryptingStore, func(), error) {
	s, closeFn, err := openStoreRaw(g)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := migrations.ApplyIn(ctx, s, time.Now, g.zone()); err != nil {
		closeFn()
		return nil, nil, err
	}
	return encryptStore(g, s, closeFn)
}

// newLogger returns the process logger: text lines on w.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// cliActor is the audit actor of admin commands run on the machine itself.
var cliActor = engine.AuditActor{ID: engine.SystemActor}
