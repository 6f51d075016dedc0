package sqlite

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"formwork/engine"
)

// versionCache answers DocVersions from memory while the database is as
// it was when the versions were read: every request's authentication
// reads the versions of its credential, user, app and epochs (one query
// of some 50 us, a tenth of a page of records' CPU), and they hardly
// ever change.
//
// "As it was" is told by the WAL-index header at the start of the -shm
// file, which SQLite rewrites at every commit of any connection of any
// process (its change counter goes up by one, its frame count and
// checksums move) and which a read transaction starts from. Versions read
// while the header stayed the same are the database's at that header.
// The store's own writes (writeTx, appendEvents, through write) move the cache on to the
// header they leave, less the docs they wrote, when the cache was true at
// the header read just before the write and the counter moved by exactly
// one across it: that one commit was the write's own. Any other change of
// the header (another process's commit, a commit of this store's outside
// those two) empties the cache. The header is read with one pread of the
// -shm file, which shares its pages with every mapping of it; the two
// copies SQLite keeps must agree, as SQLite's own readers require.
//
// SQLite removes or truncates the -shm file only when the file's last
// connection closes, and the store's own stay open; should the file at
// the path still not be the one opened (checked once a second), the
// cache turns itself off.
//
// Measured with one client through the API (CPU of the server per
// request, three alternating pairs): a page of records 543 → 506 us,
// a read by id 244 → 221 us.
type versionCache struct {
	shm     *os.File // nil: no cache (no -shm file, not opened)
	path    string
	checked atomic.Int64 // when (unix ns) shm was last found to be the file at path
	lost    atomic.Bool  // it was not: the cache is off

	mu    sync.Mutex
	at    walHeader               // the header m is true at
	m     map[engine.DocRef]int64 // nil: nothing known
	dirty []engine.DocRef         // docs the write transaction under way wrote
}

// walHeader is the WAL-index header as it is in the -shm file.
type walHeader [48]byte

// walIndexChange is the offset of the header's change counter, in native
// byte order; walIndexInit that of its isInit byte.
const (
	walIndexChange = 8
	walIndexInit   = 12
)

// maxCachedVersions bounds the cache: past it, it starts again empty.
const maxCachedVersions = 4096

// open opens the -shm file of the database at path, which SQLite made
// once the store's schema was read; without one the cache stays off.
func (c *versionCache) open(path string) {
	c.path = path + "-shm"
	if f, err := os.Open(c.path); err == nil {
		c.shm = f
		c.checked.Store(time.Now().UnixNano())
	}
}

func (c *versionCache) close() {
	if c.shm != nil {
		c.shm.Close()
	}
}

// header reads the WAL-index header; ok is false when it cannot be read
// whole or its two copies differ (a commit writing it, or none yet).
func (c *versionCache) header() (h walHeader, ok bool) {
	if c.shm == nil || c.lost.Load() {
		return h, false
	}
	if now := time.Now().UnixNano(); now-c.checked.Load() > int64(time.Second) {
		c.checked.Store(now)
		if !c.sameFile() {
			c.lost.Store(true)
			return h, false
		}
	}
	var b [96]byte
	if n, err := c.shm.ReadAt(b[:], 0); n != len(b) || err != nil {
		return h, false
	}
	if !bytes.Equal(b[:48], b[48:]) || b[walIndexInit] != 1 {
		return h, false
	}
	copy(h[:], b[:48])
	return h, true
}

// sameFile reports whether shm is still the file at path.
func (c *versionCache) sameFile() bool {
	opened, err := c.shm.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(c.path)
	return err == nil && os.SameFile(opened, now)
}

// lookup fills out with the cached versions of refs and reports whether
// all were there at header h.
func (c *versionCache) lookup(h walHeader, refs []engine.DocRef, out []int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.at != h {
		return false
	}
	for i, r := range refs {
		v, ok := c.m[r]
		if !ok {
			return false
		}
		out[i] = v
	}
	return true
}

// store keeps the versions of refs read while the header was h.
func (c *versionCache) store(h walHeader, refs []engine.DocRef, vs []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.at != h || len(c.m) >= maxCachedVersions {
		c.m = make(map[engine.DocRef]int64, len(refs))
		c.at = h
	}
	for i, r := range refs {
		c.m[r] = vs[i]
	}
}

// wrote notes a doc the write transaction under way changes.
func (c *versionCache) wrote(r engine.DocRef) {
	c.mu.Lock()
	c.dirty = append(c.dirty, r)
	c.mu.Unlock()
}

// write runs f, a write of this store (a transaction, or a statement on
// its own), and moves the cache past it: when the cache was true at the
// header read before f and the header's counter moved by one, the one
// commit in between was f's, and the cache keeps what it knew but the
// docs f changed. Else (f failed and may not have committed as planned,
// a header could not be read, another commit came in between) it is
// emptied.
func (c *versionCache) write(f func() error) error {
	before, beforeOK := c.header()
	err := f()
	after, afterOK := c.header()
	c.mu.Lock()
	defer c.mu.Unlock()
	dirty := c.dirty
	c.dirty = c.dirty[:0]
	switch {
	case err != nil || !beforeOK || !afterOK || c.m == nil || c.at != before:
		c.m = nil
	case after == before: // nothing committed: a transaction that wrote nothing
	case counter(after) == counter(before)+1:
		for _, r := range dirty {
			delete(c.m, r)
		}
		c.at = after
	default:
		c.m = nil
	}
	return err
}

// counter is the header's change counter, in the byte order SQLite
// wrote it in (the machine's).
func counter(h walHeader) uint32 {
	return binary.NativeEndian.Uint32(h[walIndexChange : walIndexChange+4])
}
