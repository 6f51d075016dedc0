package engine

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"formwork/engine/filter"
)

// A user's Access to a form is the same on every request while nothing it
// rests on changes: the user doc (roles, unit, freeze), the app version
// (its roles' permissions and scopes), the user's temporary grants and
// the unit tree. The request's authentication read their versions
// (Principal.Auth, see Org.Authenticate); while they are the same and no
// grant it rests on has ended, the Access computed once is reused. One
// that depends on the request's time or address (a role's access policy,
// $now in a filter scope) is computed every time.

// accessKey names one user's access to one form.
type accessKey struct{ user, app, form string }

// accessEntry is an Access with what it was computed from.
type accessEntry struct {
	vs     AuthVersions
	bundle *Bundle   // the app version (bundles are loaded once per version)
	until  time.Time // the first grant it rests on ends then; zero: none
	acc    *Access
}

// maxCachedAccess bounds the cache; past it the cache starts again empty.
const maxCachedAccess = 100_000

// accessCache is the service's cache of computed Access, and of the units
// below each unit (filter variables) at a unit tree's epoch.
type accessCache struct {
	mu    sync.Mutex
	m     map[accessKey]*accessEntry
	below map[string]unitsBelow
	apps  map[string]appCurrent
}

// appCurrent is an app's current version as its app doc said at docVer.
type appCurrent struct {
	docVer  int64
	version int
}

// currentApp is the app's current version when this node read its app
// doc before and the doc's version is still the same (one read of a
// version, no value); ok is false when the doc must be read.
func (c *accessCache) currentApp(ctx context.Context, st Store, app string) (version int, ok bool, err error) {
	c.mu.Lock()
	cur, known := c.apps[app]
	c.mu.Unlock()
	if !known {
		return 0, false, nil
	}
	vs, err := st.DocVersions(ctx, []DocRef{{KindApp, app}})
	if err != nil {
		return 0, false, fmt.Errorf("app %s: %w", app, err)
	}
	return cur.version, vs[0] == cur.docVer, nil
}

// appAt is the app's current version when its app doc is at docVer (a
// version read in the request) and this node read the doc at that
// version before; ok is false otherwise.
func (c *accessCache) appAt(app string, docVer int64) (version int, ok bool) {
	c.mu.Lock()
	cur, known := c.apps[app]
	c.mu.Unlock()
	return cur.version, known && docVer != 0 && cur.docVer == docVer
}

// putApp keeps what currentApp answers for app.
func (c *accessCache) putApp(app string, docVer int64, version int) {
	c.mu.Lock()
	if c.apps == nil || len(c.apps) >= maxCachedAccess {
		c.apps = map[string]appCurrent{}
	}
	c.apps[app] = appCurrent{docVer: docVer, version: version}
	c.mu.Unlock()
}

// unitsBelow are the keys of the units below one, at a unit tree's epoch.
type unitsBelow struct {
	epoch int64
	keys  []string
}

// cachedAccess is accessOf for a user read at versions vs, reused while
// those and b are the same. The Access returned is shared: nobody may
// change it.
func (s *Service) cachedAccess(ctx context.Context, u *User, vs AuthVersions, ip string, b *Bundle, f *Form) (*Access, error) {
	k := accessKey{user: u.ID, app: b.App.Key, form: f.Key}
	now := s.now()
	s.access.mu.Lock()
	e := s.access.m[k]
	s.access.mu.Unlock()
	if e != nil && e.vs == vs && e.bundle == b && (e.until.IsZero() || now.Before(e.until)) {
		return e.acc, nil
	}
	a, until, volatile, err := s.computeAccess(ctx, u, ip, b, f)
	if err != nil || volatile {
		return a, err
	}
	s.access.mu.Lock()
	if s.access.m == nil || len(s.access.m) >= maxCachedAccess {
		s.access.m = map[accessKey]*accessEntry{}
	}
	s.access.m[k] = &accessEntry{vs: vs, bundle: b, until: until, acc: a}
	s.access.mu.Unlock()
	return a, nil
}

// principalVars is filterVars for a request's principal: with the
// versions its authentication read (p.Auth), the units below the user's
// unit are read again only when the unit tree's epoch moved.
func (s *Service) principalVars(ctx context.Context, p *Principal) (filter.Vars, error) {
	if p.Auth == nil || p.User == nil || p.User.Version != p.Auth.User {
		return s.filterVars(ctx, p.User)
	}
	u := p.User
	s.access.mu.Lock()
	b, ok := s.access.below[u.Unit]
	s.access.mu.Unlock()
	if ok && b.epoch == p.Auth.Units {
		return filter.Vars{UserID: u.ID, Unit: u.Unit, UnitsBelow: b.keys, Now: s.now()}, nil
	}
	v, err := s.filterVars(ctx, u)
	if err != nil {
		return v, err
	}
	s.access.mu.Lock()
	if s.access.below == nil || len(s.access.below) >= maxCachedAccess {
		s.access.below = map[string]unitsBelow{}
	}
	s.access.below[u.Unit] = unitsBelow{epoch: p.Auth.Units, keys: v.UnitsBelow}
	s.access.mu.Unlock()
	return v, nil
}

// mentionsNow reports whether a filter scope's source uses $now, which
// makes the scope differ from one request to the next.
func mentionsNow(src []byte) bool { return bytes.Contains(src, []byte(filter.VarNow)) }
