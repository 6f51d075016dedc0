package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/signal"
	"time"

	"formwork/engine"
)

// encryptStore puts the encrypting decorator over s: x-sensitive field
// values are sealed at rest under per-app data keys wrapped by the master
// key (FORMWORK_MASTER_KEY, else DATA/master.key, generated on first start).
func encryptStore(g *Globals, s engine.Store, closeFn func()) (*engine.EncryptingStore, func(), error) {
	kr, err := openKeyring(g, s)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return engine.NewEncryptingStore(s, kr, engine.StoreForms(s)), closeFn, nil
}

func openKeyring(g *Globals, s engine.Store) (*engine.Keyring, error) {
	master, src, err := engine.LoadMasterKey(g.getenv, g.Data)
	if err != nil {
		return nil, err
	}
	if src.Generated {
		g.newLogger(os.Stderr).Warn("generated a master key for sensitive fields next to the data; move it into a secret store and pass it as "+engine.EnvMasterKey,
			"file", src.Path)
	}
	return engine.NewKeyring(s, master, time.Now, src.Older...)
}

// KeysCmd groups the key commands.
type KeysCmd struct {
	Rotate KeysRotateCmd `cmd:"" help:"New master key: re-wrap the data keys, then re-encrypt the data under fresh data keys."`
}

// KeysRotateCmd is `formwork keys rotate`.
type KeysRotateCmd struct {
	NoReencrypt bool `name:"no-reencrypt" help:"Only re-wrap the data keys and add fresh ones; leave the data as it is."`
}

// Run rotates the master key. With the key in DATA/master.key the new key
// replaces it (the old one is kept as master.key.old); with
// FORMWORK_MASTER_KEY set, the new key is printed once and must replace the
// variable's value before the next start. Restart running servers after it.
func (c *KeysRotateCmd) Run(g *Globals) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	es, closeFn, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeFn()
	newKey := make([]byte, engine.MasterKeySize)
	if _, err := readRandom(newKey); err != nil {
		return err
	}
	fromEnv := g.MasterKeyFile.value != ""
	if !fromEnv {
		// the new key reaches the disk before any doc depends on it; the old one stays as master.key.old
		if err := engine.WriteMasterKeyFile(g.Data, newKey); err != nil {
			return err
		}
	}
	apps, err := es.Keyring().RotateMaster(ctx, newKey)
	if err != nil {
		return err
	}
	fmt.Printf("re-wrapped the data keys of %d app(s) under master key %s\n", len(apps), engine.Fingerprint(newKey))
	if fromEnv {
		fmt.Printf("new %s (put it in %s or the file of %s_FILE before the next start; shown once):\n%s\n", engine.EnvMasterKey, engine.EnvMasterKey, engine.EnvMasterKey, engine.EncodeMasterKey(newKey))
	}
	if c.NoReencrypt {
		return nil
	}
	job := "rotate-" + time.Now().UTC().Format("20060102T150405Z")
	pr, err := engine.Reencrypt(ctx, es, job, func(p engine.ReencryptProgress) {
		fmt.Printf("re-encrypting: %d/%d scanned, %d rewritten\n", p.Scanned, p.Total, p.Rewritten)
	})
	if err != nil {
		return err
	}
	fmt.Printf("re-encryption %s: %s, %d record(s) rewritten\n", job, pr.State, pr.Rewritten)
	return nil
}

func readRandom(b []byte) (int, error) { return rand.Read(b) }
