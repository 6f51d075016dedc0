package backup

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"formwork/engine"
)

// EnvKey names the environment variable that holds the backup key (base64
// of 32 bytes). Without it the key is DATA/backup.key.
const EnvKey = "FORMWORK_BACKUP_KEY"

// KeyFile is the backup key's file name in the data directory.
const KeyFile = "backup.key"

// ParseKey decodes a base64 backup key.
func ParseKey(s string) ([]byte, error) { return engine.DecodeKey("backup key", s, KeySize) }

// LoadKey returns the backup key: from file when given, else from
// FORMWORK_BACKUP_KEY (getenv), else from dataDir/backup.key. With create,
// a missing dataDir/backup.key is generated (mode 0600) and generated is
// true: the caller should tell the operator to copy it off the machine,
// since a backup is useless without it once the data directory is lost.
func LoadKey(getenv func(string) string, file, dataDir string, create bool) (key []byte, generated bool, err error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("read backup key: %w", err)
		}
		k, err := ParseKey(string(b))
		return k, false, err
	}
	if v := getenv(EnvKey); v != "" {
		k, err := ParseKey(v)
		return k, false, err
	}
	p := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(p)
	if err == nil {
		k, err := ParseKey(string(b))
		return k, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read backup key: %w", err)
	}
	if !create {
		return nil, false, fmt.Errorf("no backup key: give --key FILE, set %s, or keep it as %s", EnvKey, p)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create backup key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write backup key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write backup key: %w", err)
	}
	return k, true, nil
}
