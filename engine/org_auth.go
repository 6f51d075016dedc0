package engine

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Authenticating a request without reading and decoding the credential and
// its user every time, and still refusing a revoked credential or a frozen
// user on the very next request on any node: each node keeps what it
// decoded, with the store versions it decoded, and every request reads
// the current versions of the credential, its user and the auth epochs in
// one query (Store.DocVersions) that decodes nothing. A version that moved
// (a freeze, a role change, a reauth mark, a password reset, a proven
// second factor, a touch) reads the docs again; a credential gone (logout,
// revoked, ended by a password change) is refused. The check is in the
// store every node shares, so it holds without Redis and without any
// message between nodes that could arrive late.

// KindAuthEpoch is the doc kind of the auth epochs: docs without content
// whose version moves whenever something a user's access rests on, but
// that is not the user doc, changes — their temporary grants
// (authEpochGrants) and the unit tree (authEpochUnits). The write that
// changes it moves its epoch in the same Change.
const KindAuthEpoch = "auth_epoch"

// authEpochUnits is the epoch of the unit tree, which scopes of a unit and
// below and filter scopes' $units_below read.
const authEpochUnits = "units"

// authEpochGrants is the id of the epoch of a user's temporary grants.
func authEpochGrants(userID string) string { return "grants:" + userID }

// bumpAuthEpoch is the write that moves an auth epoch, for the Change of
// the write that changes what it covers.
func bumpAuthEpoch(id string, now time.Time) DocWrite {
	return DocWrite{Doc: Doc{Kind: KindAuthEpoch, ID: id, Value: []byte(`{}`), Updated: now}, ExpectVersion: AnyVersion}
}

// AuthVersions are the store versions a request's authentication read:
// the user doc's and the epochs of the user's grants and of the unit
// tree. What is derived from the user, the grants and the units (a form's
// Access) may be reused while they are the same.
type AuthVersions struct {
	User   int64
	Grants int64
	Units  int64
}

// Credentials is who a session cookie or bearer secret belongs to, as of
// one read of the store: the user and the session or API token (one of
// them), with the versions read. Each call returns its own copies.
type Credentials struct {
	User     *User
	Session  *Session
	Token    *APIToken
	Versions AuthVersions
	// AppDoc is the version of the app doc AuthenticateIn read in the
	// same query; nil from Authenticate.
	AppDoc *AppDocVersion
}

// AppDocVersion is the version of an app's doc (0: no such app) as the
// request's authentication read it. The service takes the app's current
// version from it instead of reading the doc's version again (see
// Principal.AppDoc).
type AppDocVersion struct {
	App     string
	Version int64
}

// ID is the credential's id: the session's or the token's.
func (c *Credentials) ID() string {
	if c.Session != nil {
		return c.Session.ID
	}
	return c.Token.ID
}

// Verified is when the credential last proved the second factor.
func (c *Credentials) Verified() time.Time {
	if c.Session != nil {
		return c.Session.Verified()
	}
	return c.Token.Verified()
}

// credEntry is one decoded credential and its user, at the versions they
// were decoded at.
type credEntry struct {
	refs    []DocRef // the credential, the user, the user's grants epoch, the units epoch
	credVer int64
	session *Session
	token   *APIToken
	user    *User
}

// maxCachedCredentials bounds a node's credential cache; past it the cache
// starts again empty (a miss costs two reads, nothing else).
const maxCachedCredentials = 100_000

// authCache is the node's decoded credentials and what touch wrote.
type authCache struct {
	mu      sync.Mutex
	creds   map[string]*credEntry // kind/credential id
	touched map[string]time.Time  // credential id → when this node last recorded its use
	touches sync.WaitGroup
}

func credNotFound(kind string) error {
	if kind == KindSession {
		return Errorf(ENOTFOUND, T("会话不存在或已过期", "The session does not exist or has expired"))
	}
	return Errorf(ENOTFOUND, T("令牌无效", "The token is not valid"))
}

// Authenticate returns the live credential of a secret — kind KindSession
// for a session cookie, KindToken for a bearer token — and its user, as
// they are in the store now: one read of versions when this node decoded
// them before, the docs again when any moved. ENOTFOUND when the
// credential is unknown, expired or revoked, or its user is gone. A
// frozen user's credential is returned: the caller refuses it (ELOCKED
// rather than a bad credential).
func (o *Org) Authenticate(ctx context.Context, kind, secret string) (*Credentials, error) {
	return o.AuthenticateIn(ctx, kind, secret, "")
}

// AuthenticateIn is Authenticate for a request in app (none: ""), whose
// app doc's version the same query reads (Credentials.AppDoc): a request
// in an app makes one read of versions, not two.
func (o *Org) AuthenticateIn(ctx context.Context, kind, secret, app string) (*Credentials, error) {
	if kind != KindSession && kind != KindToken {
		return nil, fmt.Errorf("authenticate: unknown credential kind %q", kind)
	}
	id := HashSecret(secret)
	key := kind + "/" + id
	o.auth.mu.Lock()
	e := o.auth.creds[key]
	o.auth.mu.Unlock()
	if e != nil {
		vs, err := o.store.DocVersions(ctx, withApp(e.refs, app))
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if vs[0] == 0 {
			o.forgetCredential(key)
			return nil, credNotFound(kind)
		}
		if vs[0] == e.credVer && vs[1] == e.user.Version {
			return o.credentials(e, vs, app)
		}
	}
	e, err := o.loadCredential(ctx, kind, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			o.forgetCredential(key)
		}
		return nil, err
	}
	vs, err := o.store.DocVersions(ctx, withApp(e.refs, app))
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if vs[0] == e.credVer && vs[1] == e.user.Version {
		o.auth.mu.Lock()
		if o.auth.creds == nil || len(o.auth.creds) >= maxCachedCredentials {
			o.auth.creds = map[string]*credEntry{}
		}
		o.auth.creds[key] = e
		o.auth.mu.Unlock()
	}
	// Not cached when a doc moved between the reads: the answer is still
	// the docs as read, with epochs read after them.
	vs[1] = e.user.Version
	return o.credentials(e, vs, app)
}

// withApp is a credential's refs and, when app is set, its app doc.
func withApp(refs []DocRef, app string) []DocRef {
	if app == "" {
		return refs
	}
	return append(refs[:len(refs):len(refs)], DocRef{KindApp, app})
}

// loadCredential reads and decodes a credential and its user.
func (o *Org) loadCredential(ctx context.Context, kind, id string) (*credEntry, error) {
	d, err := o.store.FindDoc(ctx, kind, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, credNotFound(kind)
		}
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	e := &credEntry{credVer: d.Version}
	var userID string
	if kind == KindSession {
		e.session = &Session{}
		if err := DecodeDoc(d, e.session); err != nil {
			return nil, err
		}
		userID = e.session.UserID
	} else {
		e.token = &APIToken{}
		if err := DecodeDoc(d, e.token); err != nil {
			return nil, err
		}
		userID = e.token.UserID
	}
	if e.user, err = o.FindUserByID(ctx, userID); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, credNotFound(kind)
		}
		return nil, err
	}
	e.refs = []DocRef{{kind, id}, {KindUser, userID}, {KindAuthEpoch, authEpochGrants(userID)}, {KindAuthEpoch, authEpochUnits}}
	return e, nil
}

// credentials is what one request gets of e: copies, with the versions
// read (app's doc's last when app is set), unless the credential has
// expired meanwhile (ENOTFOUND).
func (o *Org) credentials(e *credEntry, vs []int64, app string) (*Credentials, error) {
	now := o.now()
	c := &Credentials{Versions: AuthVersions{User: vs[1], Grants: vs[2], Units: vs[3]}}
	if app != "" {
		c.AppDoc = &AppDocVersion{App: app, Version: vs[len(vs)-1]}
	}
	u := *e.user
	c.User = &u
	if e.session != nil {
		if !now.Before(e.session.ExpiresAt) {
			return nil, credNotFound(KindSession)
		}
		s := *e.session
		c.Session = &s
		return c, nil
	}
	if e.token.ExpiresAt != nil && !now.Before(*e.token.ExpiresAt) {
		return nil, credNotFound(KindToken)
	}
	t := *e.token
	c.Token = &t
	return c, nil
}

func (o *Org) forgetCredential(key string) {
	o.auth.mu.Lock()
	delete(o.auth.creds, key)
	o.auth.mu.Unlock()
}

// ---- last seen ----

// touchEvery is how often a session's or token's last use is written: at
// most once a minute per credential, so a busy script costs one write a
// minute rather than one a request.
const touchEvery = time.Minute

// Touch records that the credential was just used, off the request's
// path: at most once per minute per credential on this node, and the write
// itself (in the background) only when the stored time is a minute old,
// so nodes together write it at most about once a minute. A credential
// ended meanwhile stays ended. A failed write is given to failed (if not
// nil): it costs only the "last seen" column. Wait (Service.Close) waits
// for the writes under way.
func (o *Org) Touch(c *Credentials, failed func(error)) {
	kind, id := KindToken, c.ID()
	if c.Session != nil {
		kind = KindSession
	}
	now := o.now()
	o.auth.mu.Lock()
	if last, ok := o.auth.touched[id]; ok && now.Sub(last) < touchEvery {
		o.auth.mu.Unlock()
		return
	}
	if o.auth.touched == nil || len(o.auth.touched) >= maxCachedCredentials {
		o.auth.touched = map[string]time.Time{}
	}
	o.auth.touched[id] = now
	o.auth.touches.Add(1)
	o.auth.mu.Unlock()
	go func() {
		defer o.auth.touches.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if kind == KindSession {
			err = touchDoc(ctx, o, kind, id, func(v *Session) **time.Time { return &v.LastSeenAt })
		} else {
			err = touchDoc(ctx, o, kind, id, func(v *APIToken) **time.Time { return &v.LastUsedAt })
		}
		if err != nil && failed != nil {
			failed(err)
		}
	}()
}

// Wait waits for the last-seen writes under way (see Touch).
func (o *Org) Wait() { o.auth.touches.Wait() }
