package engine

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvMasterKey names the environment variable that holds the master key
// (base64 of 32 bytes). Without it the key lives in DATA/master.key.
const EnvMasterKey = "FORMWORK_MASTER_KEY"

// MasterKeyFile is the master key's file name inside the data directory.
const MasterKeyFile = "master.key"

// MasterKeySource says where LoadMasterKey found the key.
type MasterKeySource struct {
	FromEnv   bool
	Path      string // the file, when not from the environment
	Generated bool   // the file was created now
	Older     [][]byte
}

// ParseMasterKey decodes a base64 master key.
func ParseMasterKey(s string) ([]byte, error) { return DecodeKey("master key", s, MasterKeySize) }

// DecodeKey decodes the base64 text of a size-byte key; what names the key
// in errors.
func DecodeKey(what, s string, size int) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s: not base64: %w", what, err)
	}
	if len(k) != size {
		return nil, fmt.Errorf("%s: want %d bytes, got %d", what, size, len(k))
	}
	return k, nil
}

// EncodeMasterKey returns the base64 text of a master key.
func EncodeMasterKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// LoadMasterKey returns the master key from FORMWORK_MASTER_KEY (getenv),
// else from dataDir/master.key, generating that file (mode 0600) on first
// start; the caller should then warn that the key belongs elsewhere (a
// secret store), since a key kept beside the data protects little against
// theft of the whole directory. dataDir/master.key.old, left by a rotation,
// is returned in Older so keys wrapped before it can still be read.
func LoadMasterKey(getenv func(string) string, dataDir string) ([]byte, MasterKeySource, error) {
	var src MasterKeySource
	if old, err := os.ReadFile(filepath.Join(dataDir, MasterKeyFile+".old")); err == nil {
		if k, err := ParseMasterKey(string(old)); err == nil {
			src.Older = append(src.Older, k)
		}
	}
	if v := getenv(EnvMasterKey); v != "" {
		k, err := ParseMasterKey(v)
		src.FromEnv = true
		return k, src, err
	}
	src.Path = filepath.Join(dataDir, MasterKeyFile)
	b, err := os.ReadFile(src.Path)
	if err == nil {
		k, err := ParseMasterKey(string(b))
		return k, src, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, src, fmt.Errorf("read master key: %w", err)
	}
	k, err := randomKey()
	if err != nil {
		return nil, src, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, src, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(src.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it meanwhile
			return LoadMasterKey(getenv, dataDir)
		}
		return nil, src, fmt.Errorf("create master key: %w", err)
	}
	if _, err := f.WriteString(EncodeMasterKey(k) + "\n"); err != nil {
		f.Close()
		return nil, src, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, src, fmt.Errorf("write master key: %w", err)
	}
	src.Generated = true
	return k, src, nil
}

// WriteMasterKeyFile replaces dataDir/master.key with k, keeping the
// previous key as master.key.old (mode 0600) until the rotation finished.
func WriteMasterKeyFile(dataDir string, k []byte) error {
	p := filepath.Join(dataDir, MasterKeyFile)
	if old, err := os.ReadFile(p); err == nil {
		if err := os.WriteFile(p+".old", old, 0o600); err != nil {
			return fmt.Errorf("keep old master key: %w", err)
		}
	}
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte(EncodeMasterKey(k)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	return nil
}
