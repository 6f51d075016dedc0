package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Doc kinds of the organisation model.
const (
	KindUnit    = "unit"
	KindUser    = "user"
	KindSession = "session"
	KindToken   = "token"
)

// SystemActor is the audit actor of changes made by the command line and
// by the engine itself rather than by a signed-in user.
const SystemActor = "system"

// AuditActor says who makes a change, for its audit event: a user id (or
// SystemActor) and, for requests, the client address.
type AuditActor struct {
	ID    string
	IP    string
	Agent string // the client's User-Agent, kept on the sessions it starts
}

// Unit is one node of the organisation tree (HQ → region → store →
// department). Key is its stable identifier; Path lists its ancestors' keys
// from the root down (empty for the root).
type Unit struct {
	Key       string    `json:"key"`
	Name      Text      `json:"name"`
	Parent    string    `json:"parent,omitempty"`
	Head      string    `json:"head,omitempty"` // user id of the unit head
	Path      []string  `json:"path,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Version   int64     `json:"-"`
}

// User is a person who signs in. Email is unique and stored lower-cased.
// Roles maps an app key to the role keys the user holds in it. PasswordHash
// is never marshalled to JSON outside the store.
type User struct {
	ID           string              `json:"id"`
	Email        string              `json:"email"`
	Name         string              `json:"name"`
	Unit         string              `json:"unit"`
	Admin        bool                `json:"admin,omitempty"`
	Auditor      bool                `json:"auditor,omitempty"` // reads the audit log, alerts and explain; no record data, no changes
	Roles        map[string][]string `json:"roles,omitempty"`
	PasswordHash string              `json:"-"`
	Frozen       bool                `json:"frozen,omitempty"`
	FailedLogins int                 `json:"failed_logins,omitempty"`
	// MustChangePassword is set by an administrator's reset: until the
	// user sets a password of their own they may do nothing else.
	MustChangePassword bool       `json:"must_change_password,omitempty"`
	LockedUntil        *time.Time `json:"locked_until,omitempty"`
	ReauthAt           *time.Time `json:"reauth_at,omitempty"` // an anomaly rule asked for the second factor again (see NeedsReauth)
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	Version            int64      `json:"-"`
}

// storedUser is a User as stored: the same fields plus the password hash.
type storedUser struct {
	User
	PasswordHash string `json:"password_hash"`
}

// Session is a browser session. ID is the SHA-256 (hex) of the secret the
// cookie carries; the secret itself is never stored.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	CSRF      string    `json:"csrf"`
	IP        string    `json:"ip,omitempty"`
	Agent     string    `json:"agent,omitempty"` // the browser's User-Agent
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// LastSeenAt is the last request, kept to the minute (see Touch).
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	// VerifiedAt is when the session last proved the second factor again
	// (see Service.Reauthenticate); its creation otherwise.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

// APIToken is a bearer token for scripts. ID is the SHA-256 (hex) of the
// secret; the secret is shown once, when the token is created.
// A login token (POST /api/v1/auth/login) acts as its user in full; a
// personal token (Personal) is one the user made for an integration, may be
// limited to some apps (Apps) and manages nothing of the account.
type APIToken struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Personal  bool       `json:"personal,omitempty"`
	Apps      []string   `json:"apps,omitempty"` // personal tokens: the only apps it may act in; empty: any
	IP        string     `json:"ip,omitempty"`   // where it was issued
	Agent     string     `json:"agent,omitempty"`
	// LastUsedAt is the last request, kept to the minute (see Touch).
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// VerifiedAt is as Session's.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email    string
	Name     string
	Unit     string
	Admin    bool
	Auditor  bool // a system auditor: holds no roles and is never an administrator
	Roles    map[string][]string
	Password string
}

// Org is the organisation and identity service: units, users, sessions and
// API tokens, kept as docs in a Store. Every change is one Apply with its
// audit event.
type Org struct {
	store Store
	now   func() time.Time
	// observe, when set (by NewService), sees the login events written
	// here rather than through the audit writer, for the anomaly rules
	observe func([]*AuditEvent)
	// auth is this node's decoded credentials (see Authenticate)
	auth authCache
}

// NewOrg returns the organisation service over s; clock gives the current
// time (time.Now when nil).
func NewOrg(s Store, clock func() time.Time) *Org {
	if clock == nil {
		clock = time.Now
	}
	return &Org{store: s, now: clock}
}

var unitKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidUnitKey reports whether key is a well-formed unit key.
func ValidUnitKey(key string) bool { return unitKeyRE.MatchString(key) }

func (o *Org) event(actor AuditActor, action, object string, fields []string, detail any) *AuditEvent {
	e := &AuditEvent{
		Time:   o.now(),
		Actor:  actor.ID,
		IP:     actor.IP,
		Action: action,
		Object: object,
		Fields: fields,
		Result: ResultOK,
	}
	if e.Actor == "" {
		e.Actor = SystemActor
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err == nil {
			e.Detail = b
		}
	}
	return e
}

func marshalDoc(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs are marshalled here.
		panic("engine: marshal doc: " + err.Error())
	}
	return b
}

// ---- units ----

// CreateUnit adds a unit under u.Parent. EINVALID for a bad key, a missing
// name or parent, or a second root; ECONFLICT when the key is taken.
func (o *Org) CreateUnit(ctx context.Context, actor AuditActor, u Unit) (*Unit, error) {
	var errs []FieldError
	if !ValidUnitKey(u.Key) {
		errs = append(errs, FieldError{Field: "/key", Code: "pattern", Message: T("单位编码须为小写字母开头，仅含小写字母、数字和下划线，最多 63 个字符", "The unit key must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)")})
	}
	if u.Name.IsZero() {
		errs = append(errs, FieldError{Field: "/name", Code: "required", Message: T("请填写单位名称", "The unit name is required")})
	}
	var path []string
	if u.Parent == "" {
		roots, err := o.store.FindDocs(ctx, DocQuery{Kind: KindUnit, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("create unit: %w", err)
		}
		if len(roots) > 0 {
			errs = append(errs, FieldError{Field: "/parent", Code: "required", Message: T("已有根单位，请指定上级单位", "A root unit exists already: give the parent unit")})
		}
	} else {
		p, err := o.FindUnit(ctx, u.Parent)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			errs = append(errs, FieldError{Field: "/parent", Code: "not_found", Message: Tf("上级单位 %s 不存在", "The parent unit %s does not exist", u.Parent)})
		case err != nil:
			return nil, fmt.Errorf("create unit: %w", err)
		default:
			path = append(append([]string{}, p.Path...), p.Key)
		}
	}
	if len(errs) > 0 {
		return nil, Invalid(errs...)
	}
	now := o.now()
	n := Unit{Key: u.Key, Name: u.Name, Parent: u.Parent, Path: path, CreatedAt: now.UTC()}
	if u.Head != "" {
		if _, err := o.FindUserByID(ctx, u.Head); err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Invalid(FieldError{Field: "/head", Code: "not_found", Message: T("单位负责人不存在", "The unit head does not exist")})
			}
			return nil, fmt.Errorf("create unit: %w", err)
		}
		n.Head = u.Head
	}
	tags := make([]string, 0, len(path)+1)
	if n.Parent != "" {
		tags = append(tags, "parent:"+n.Parent)
	}
	for _, a := range path {
		tags = append(tags, "below:"+a)
	}
	res, err := o.store.Apply(ctx, &Change{
		// the tree below the parent grows: scopes read it again
		Docs: []DocWrite{{Doc: Doc{Kind: KindUnit, ID: n.Key, Version: 1, Tags: tags, Value: marshalDoc(n), Updated: now}}, bumpAuthEpoch(authEpochUnits, now)},
		Audit: []*AuditEvent{o.event(actor, "unit.create", n.Key, []string{"key", "name", "parent"},
			map[string]any{"name": n.Name, "parent": n.Parent})},
	})
	if err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, &Error{Code: ECONFLICT, Message: Tf("单位编码 %s 已存在", "The unit key %s is taken", n.Key), Err: err}
		}
		return nil, fmt.Errorf("create unit: %w", err)
	}
	n.Version = docVersion(res, 1)
	return &n, nil
}

func docVersion(res *ChangeResult, def int64) int64 {
	if res != nil && len(res.Docs) > 0 && res.Docs[0].Version > 0 {
		return res.Docs[0].Version
	}
	return def
}

// UpdateUnitHead sets (or with an empty userID clears) the unit's head.
// ENOTFOUND for an unknown unit, EINVALID for an unknown user, ECONFLICT
// when the unit changed meanwhile.
func (o *Org) UpdateUnitHead(ctx context.Context, actor AuditActor, key, userID string) (*Unit, error) {
	d, err := o.store.FindDoc(ctx, KindUnit, key)
	if err != nil {
		return nil, unitNotFound(key, err)
	}
	u, err := unitFromDoc(d)
	if err != nil {
		return nil, err
	}
	if userID != "" {
		if _, err := o.FindUserByID(ctx, userID); err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Invalid(FieldError{Field: "/head", Code: "not_found", Message: T("单位负责人不存在", "The unit head does not exist")})
			}
			return nil, fmt.Errorf("update unit head: %w", err)
		}
	}
	old := u.Head
	u.Head = userID
	now := o.now()
	res, err := o.store.Apply(ctx, &Change{
		Docs: []DocWrite{{Doc: Doc{Kind: KindUnit, ID: key, Version: d.Version + 1, Tags: d.Tags, Value: marshalDoc(u), Updated: now}, ExpectVersion: d.Version}},
		Audit: []*AuditEvent{o.event(actor, "unit.update", key, []string{"head"},
			map[string]any{"head": map[string]string{"before": old, "after": userID}})},
	})
	if err != nil {
		return nil, fmt.Errorf("update unit head: %w", err)
	}
	u.Version = docVersion(res, d.Version+1)
	return u, nil
}

func unitNotFound(key string, err error) error {
	if ErrorCode(err) == ENOTFOUND {
		return &Error{Code: ENOTFOUND, Message: Tf("单位 %s 不存在", "The unit %s does not exist", key), Err: err}
	}
	return fmt.Errorf("find unit %s: %w", key, err)
}

func unitFromDoc(d *Doc) (*Unit, error) {
	var u Unit
	if err := DecodeDoc(d, &u); err != nil {
		return nil, err
	}
	u.Version = d.Version
	return &u, nil
}

// FindUnit returns a unit by key. ENOTFOUND when missing.
func (o *Org) FindUnit(ctx context.Context, key string) (*Unit, error) {
	d, err := o.store.FindDoc(ctx, KindUnit, key)
	if err != nil {
		return nil, unitNotFound(key, err)
	}
	return unitFromDoc(d)
}

func (o *Org) units(ctx context.Context, tag string) ([]*Unit, error) {
	docs, err := o.store.FindDocs(ctx, DocQuery{Kind: KindUnit, Tag: tag})
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	out := make([]*Unit, 0, len(docs))
	for _, d := range docs {
		u, err := unitFromDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// ListUnits returns every unit in tree order: parents before children,
// siblings by key.
func (o *Org) ListUnits(ctx context.Context) ([]*Unit, error) {
	us, err := o.units(ctx, "")
	if err != nil {
		return nil, err
	}
	sortTree(us)
	return us, nil
}

// sortTree orders units by their full path, so each parent precedes its
// subtree.
func sortTree(us []*Unit) {
	key := func(u *Unit) string { return strings.Join(append(append([]string{}, u.Path...), u.Key), "\x00") }
	sort.Slice(us, func(i, j int) bool { return key(us[i]) < key(us[j]) })
}

// UnitsBelow returns the unit and all its descendants, in tree order.
// ENOTFOUND for an unknown unit.
func (o *Org) UnitsBelow(ctx context.Context, key string) ([]*Unit, error) {
	u, err := o.FindUnit(ctx, key)
	if err != nil {
		return nil, err
	}
	below, err := o.units(ctx, "below:"+key)
	if err != nil {
		return nil, err
	}
	out := append([]*Unit{u}, below...)
	sortTree(out)
	return out, nil
}

// UnitKeysBelow returns the keys of UnitsBelow(key), for data-scope filters.
func (o *Org) UnitKeysBelow(ctx context.Context, key string) ([]string, error) {
	us, err := o.UnitsBelow(ctx, key)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(us))
	for i, u := range us {
		keys[i] = u.Key
	}
	return keys, nil
}

// Ancestors returns the unit's ancestors from the root down (empty for the
// root). ENOTFOUND for an unknown unit.
func (o *Org) Ancestors(ctx context.Context, key string) ([]*Unit, error) {
	u, err := o.FindUnit(ctx, key)
	if err != nil {
		return nil, err
	}
	out := make([]*Unit, 0, len(u.Path))
	for _, k := range u.Path {
		a, err := o.FindUnit(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- users ----

// NormalizeEmail returns the email as stored: trimmed and lower-cased.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func userTags(u *User) (tags, unique []string) {
	tags = []string{"email:" + u.Email, "unit:" + u.Unit}
	apps := make([]string, 0, len(u.Roles))
	for app := range u.Roles {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	for _, app := range apps {
		for _, r := range u.Roles[app] {
			tags = append(tags, "role:"+app+"/"+r)
		}
	}
	if u.Admin {
		tags = append(tags, "admin")
	}
	if u.Auditor {
		tags = append(tags, "auditor")
	}
	return tags, []string{"email:" + u.Email}
}

func userDoc(u *User, version int64, now time.Time) Doc {
	tags, unique := userTags(u)
	return Doc{Kind: KindUser, ID: u.ID, Version: version, Tags: tags, Unique: unique,
		Value: marshalDoc(storedUser{User: *u, PasswordHash: u.PasswordHash}), Updated: now}
}

// UserFromDoc decodes a stored user doc.
func UserFromDoc(d *Doc) (*User, error) {
	var s storedUser
	if err := DecodeDoc(d, &s); err != nil {
		return nil, err
	}
	u := s.User
	u.PasswordHash = s.PasswordHash
	u.Version = d.Version
	return &u, nil
}

// CreateUser adds a user with a hashed password. EINVALID (with field
// errors) for a bad email, name, unit, roles or a weak password; ECONFLICT
// when the email is taken.
func (o *Org) CreateUser(ctx context.Context, actor AuditActor, in NewUser) (*User, error) {
	email := NormalizeEmail(in.Email)
	var errs []FieldError
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		errs = append(errs, FieldError{Field: "/email", Code: "format", Message: T("邮箱地址格式不正确", "The email address is not valid")})
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		errs = append(errs, FieldError{Field: "/name", Code: "required", Message: T("请填写姓名", "The name is required")})
	}
	if in.Unit == "" {
		errs = append(errs, FieldError{Field: "/unit", Code: "required", Message: T("请指定所属单位", "The unit is required")})
	} else if _, err := o.FindUnit(ctx, in.Unit); err != nil {
		if ErrorCode(err) != ENOTFOUND {
			return nil, fmt.Errorf("create user: %w", err)
		}
		errs = append(errs, FieldError{Field: "/unit", Code: "not_found", Message: Tf("单位 %s 不存在", "The unit %s does not exist", in.Unit)})
	}
	errs = append(errs, checkRoles(in.Roles)...)
	errs = append(errs, checkAuditor(in)...)
	if fe := CheckPasswordPolicy(in.Password, email); fe != nil {
		errs = append(errs, *fe)
	}
	if len(errs) > 0 {
		return nil, Invalid(errs...)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	now := o.now()
	u := &User{
		ID: NewID(now), Email: email, Name: name, Unit: in.Unit, Admin: in.Admin, Auditor: in.Auditor,
		Roles: cloneRoles(in.Roles), PasswordHash: hash, CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	res, err := o.store.Apply(ctx, &Change{
		Docs: []DocWrite{{Doc: userDoc(u, 1, now)}},
		Audit: []*AuditEvent{o.event(actor, "user.create", u.ID, []string{"email", "name", "unit", "admin", "auditor", "roles", "password"},
			map[string]any{"email": u.Email, "name": u.Name, "unit": u.Unit, "admin": u.Admin, "auditor": u.Auditor, "roles": u.Roles})},
	})
	if err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, &Error{Code: ECONFLICT, Message: Tf("邮箱 %s 已被使用", "The email %s is already in use", email), Err: err}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	u.Version = docVersion(res, 1)
	return u, nil
}

// errAuditorRoles refuses roles for an auditor: an auditor sees what the
// audit events hold and no record data, so holds no role in any app.
var errAuditorRoles = FieldError{Field: "/roles", Code: "auditor", Message: T("审计员不能担任应用角色", "An auditor holds no roles in apps")}

// checkAuditor keeps an auditor apart from the people they audit: never an
// administrator, never a role holder.
func checkAuditor(in NewUser) []FieldError {
	if !in.Auditor {
		return nil
	}
	var errs []FieldError
	if in.Admin {
		errs = append(errs, FieldError{Field: "/auditor", Code: "auditor", Message: T("审计员不能同时是系统管理员", "An auditor cannot also be a system administrator")})
	}
	if len(cloneRoles(in.Roles)) > 0 {
		errs = append(errs, errAuditorRoles)
	}
	return errs
}

func checkRoles(roles map[string][]string) []FieldError {
	var errs []FieldError
	for app, rs := range roles {
		if app == "" || strings.ContainsAny(app, "/:") {
			errs = append(errs, FieldError{Field: "/roles", Code: "invalid", Message: Tf("应用编码 %q 无效", "The app key %q is not valid", app)})
		}
		for _, r := range rs {
			if r == "" || strings.ContainsAny(r, "/:") {
				errs = append(errs, FieldError{Field: "/roles/" + app, Code: "invalid", Message: Tf("角色编码 %q 无效", "The role key %q is not valid", r)})
			}
		}
	}
	return errs
}

func cloneRoles(in map[string][]string) map[string][]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string][]string, len(in))
	for app, rs := range in {
		if len(rs) == 0 {
			continue
		}
		c := append([]string(nil), rs...)
		sort.Strings(c)
		out[app] = c
	}
	return out
}

// FindUserByID returns a user. ENOTFOUND when missing.
func (o *Org) FindUserByID(ctx context.Context, id string) (*User, error) {
	d, err := o.store.FindDoc(ctx, KindUser, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, &Error{Code: ENOTFOUND, Message: T("用户不存在", "The user does not exist"), Err: err}
		}
		return nil, fmt.Errorf("find user: %w", err)
	}
	return UserFromDoc(d)
}

// FindUserByEmail returns a user by email (any case). ENOTFOUND when missing.
func (o *Org) FindUserByEmail(ctx context.Context, email string) (*User, error) {
	docs, err := o.store.FindDocs(ctx, DocQuery{Kind: KindUser, Tag: "email:" + NormalizeEmail(email), Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	if len(docs) == 0 {
		return nil, Errorf(ENOTFOUND, T("用户不存在", "The user does not exist"))
	}
	return UserFromDoc(docs[0])
}

// ListUsers returns the users of a unit, or all users when unit is empty,
// ordered by id.
func (o *Org) ListUsers(ctx context.Context, unit string) ([]*User, error) {
	q := DocQuery{Kind: KindUser}
	if unit != "" {
		q.Tag = "unit:" + unit
	}
	docs, err := o.store.FindDocs(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]*User, 0, len(docs))
	for _, d := range docs {
		u, err := UserFromDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// errBadLogin is the one answer for an unknown email and a wrong password,
// so the answer does not reveal which emails exist.
var errBadLogin = Errorf(EUNAUTHORIZED, T("邮箱或密码错误", "Wrong email or password"))

// dummyHash is verified against when the email is unknown, so both failures
// take the same time.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("formwork-dummy-password")
	return h
})

// CheckPassword verifies an email and password in constant time and returns
// the user. EUNAUTHORIZED for an unknown email or a wrong password (the same
// error for both); ELOCKED for a frozen user or one locked until later. It
// writes nothing: counting failed logins is the caller's (login) business.
func (o *Org) CheckPassword(ctx context.Context, email, password string) (*User, error) {
	u, err := o.FindUserByEmail(ctx, email)
	if err != nil {
		if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		VerifyPassword(dummyHash(), password)
		return nil, errBadLogin
	}
	if !VerifyPassword(u.PasswordHash, password) {
		return nil, errBadLogin
	}
	if u.Frozen {
		return nil, Errorf(ELOCKED, T("账号已冻结", "The account is frozen"))
	}
	if u.LockedUntil != nil && o.now().Before(*u.LockedUntil) {
		return nil, Errorf(ELOCKED, T("账号暂时锁定，请稍后再试", "The account is locked for now; try again later"))
	}
	return u, nil
}

// Login lock-out defaults: after MaxFailedLogins wrong passwords in a row
// the account is locked for LockoutDuration.
const (
	MaxFailedLogins = 5
	LockoutDuration = 15 * time.Minute
)

// Login is LoginWithLockout with the default lock-out (MaxFailedLogins,
// LockoutDuration).
func (o *Org) Login(ctx context.Context, actor AuditActor, email, password string) (*User, error) {
	return o.LoginWithLockout(ctx, actor, email, password, MaxFailedLogins, LockoutDuration)
}

// LoginWithLockout checks an email and password like CheckPassword and
// records the outcome; it is the one place failed logins are counted.
//   - Right password: audit "login" (ok); a failure count or an expired
//     lock is cleared in the same write.
//   - Wrong password for a known user: the count goes up, audited as
//     "login.failed" with the count. The threshold-th failure in a row locks
//     the account until now+lockFor, audited as "user.lock", and answers
//     ELOCKED (the caller learns the account is locked now).
//   - Unknown email: audit "login" (failed) naming the email; EUNAUTHORIZED,
//     the same answer as a wrong password.
//   - Frozen or locked: audit "login" (denied); ELOCKED.
//
// A threshold of 0 or less never locks. Under concurrent attempts a failure
// may go uncounted (the update loses a version race) but never counts twice.
func (o *Org) LoginWithLockout(ctx context.Context, actor AuditActor, email, password string, threshold int, lockFor time.Duration) (*User, error) {
	u, err := o.CheckPassword(ctx, email, password)
	var evs []*AuditEvent
	defer func() {
		if o.observe != nil && len(evs) > 0 {
			o.observe(evs) // the rules count from the store, so an event whose write failed counts nothing
		}
	}()
	login := func(action, object, result, reason string) *AuditEvent {
		e := o.event(actor, action, object, nil, nil)
		e.Result, e.Reason = result, reason
		if actor.ID == "" {
			e.Actor = "anonymous"
		}
		evs = append(evs, e)
		return e
	}
	switch ErrorCode(err) {
	case "":
		if u.FailedLogins == 0 && u.LockedUntil == nil {
			if _, aerr := o.store.Apply(ctx, &Change{Audit: []*AuditEvent{login("login", u.ID, ResultOK, "")}}); aerr != nil {
				return nil, fmt.Errorf("login: %w", aerr)
			}
			return u, nil
		}
		return o.updateUser(ctx, u.ID, func(u *User) (*AuditEvent, []DocWrite, error) {
			u.FailedLogins, u.LockedUntil = 0, nil
			return login("login", u.ID, ResultOK, ""), nil, nil
		})
	case EUNAUTHORIZED:
		known, ferr := o.FindUserByEmail(ctx, email)
		if ferr != nil {
			if _, aerr := o.store.Apply(ctx, &Change{Audit: []*AuditEvent{login("login", NormalizeEmail(email), ResultFailed, "unknown email")}}); aerr != nil {
				return nil, fmt.Errorf("login: %w", aerr)
			}
			return nil, err
		}
		if known.LockedUntil != nil && o.now().Before(*known.LockedUntil) {
			// a wrong password while locked counts nothing more
			lerr := Errorf(ELOCKED, T("账号暂时锁定，请稍后再试", "The account is locked for now; try again later"))
			if _, aerr := o.store.Apply(ctx, &Change{Audit: []*AuditEvent{login("login", known.ID, ResultDenied, "locked")}}); aerr != nil {
				return nil, fmt.Errorf("login: %w", aerr)
			}
			return nil, lerr
		}
		// Count the failure at the user doc's version, again on a lost
		// race: another node (or request) counting at the same moment must
		// not make this guess free and unaudited.
		locked, lockedMeanwhile := false, false
		uerr := retryConflict(func() error {
			locked, lockedMeanwhile = false, false
			_, err := o.updateUser(ctx, known.ID, func(u *User) (*AuditEvent, []DocWrite, error) {
				if u.LockedUntil != nil && o.now().Before(*u.LockedUntil) {
					lockedMeanwhile = true
					return login("login", u.ID, ResultDenied, "locked"), nil, nil
				}
				return o.countFailure(u, login, threshold, lockFor, &locked), nil, nil
			})
			return err
		})
		if uerr != nil {
			return nil, uerr
		}
		if lockedMeanwhile {
			return nil, Errorf(ELOCKED, T("账号暂时锁定，请稍后再试", "The account is locked for now; try again later"))
		}
		if locked {
			return nil, Errorf(ELOCKED, T("登录失败次数过多，账号暂时锁定，请稍后再试", "Too many failed logins: the account is locked for now; try again later"))
		}
		return nil, err
	case ELOCKED:
		known, ferr := o.FindUserByEmail(ctx, email)
		if ferr == nil {
			if _, aerr := o.store.Apply(ctx, &Change{Audit: []*AuditEvent{login("login", known.ID, ResultDenied, ErrorMessage(err, "en"))}}); aerr != nil {
				return nil, fmt.Errorf("login: %w", aerr)
			}
		}
		return nil, err
	default:
		return nil, err
	}
}

// countFailure counts one wrong password on u and, at the threshold,
// locks it; it returns the audit event of what happened.
func (o *Org) countFailure(u *User, login func(action, object, result, reason string) *AuditEvent, threshold int, lockFor time.Duration, locked *bool) *AuditEvent {
	u.FailedLogins++
	ev := login("login.failed", u.ID, ResultFailed, "wrong password")
	ev.Detail = marshalDoc(map[string]any{"failed_logins": u.FailedLogins})
	if threshold > 0 && u.FailedLogins >= threshold {
		until := o.now().Add(lockFor).UTC()
		u.LockedUntil, u.FailedLogins, *locked = &until, 0, true
		ev = login("user.lock", u.ID, ResultFailed, "wrong password; locked until "+until.Format(time.RFC3339))
		ev.Fields = []string{"locked_until"}
		ev.Detail = marshalDoc(map[string]any{"locked_until": until, "after_failures": threshold})
	}
	return ev
}

// retryConflict runs fn again while it loses a version race (ECONFLICT),
// a bounded number of times.
func retryConflict(fn func() error) error {
	var err error
	for range 20 {
		if err = fn(); ErrorCode(err) != ECONFLICT {
			return err
		}
	}
	return err
}

// updateUser reads a user, lets fn change it and writes it back with its
// audit event, failing with ECONFLICT when it changed meanwhile.
func (o *Org) updateUser(ctx context.Context, id string, fn func(u *User) (*AuditEvent, []DocWrite, error)) (*User, error) {
	d, err := o.store.FindDoc(ctx, KindUser, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, &Error{Code: ENOTFOUND, Message: T("用户不存在", "The user does not exist"), Err: err}
		}
		return nil, fmt.Errorf("update user: %w", err)
	}
	u, err := UserFromDoc(d)
	if err != nil {
		return nil, err
	}
	ev, extra, err := fn(u)
	if err != nil {
		return nil, err
	}
	now := o.now()
	u.UpdatedAt = now.UTC()
	res, err := o.store.Apply(ctx, &Change{
		Docs:  append([]DocWrite{{Doc: userDoc(u, d.Version+1, now), ExpectVersion: d.Version}}, extra...),
		Audit: []*AuditEvent{ev},
	})
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	u.Version = docVersion(res, d.Version+1)
	return u, nil
}

// SetRoles replaces the user's roles. EINVALID for bad keys, ENOTFOUND for
// an unknown user, ECONFLICT when the user changed meanwhile.
func (o *Org) SetRoles(ctx context.Context, actor AuditActor, userID string, roles map[string][]string) (*User, error) {
	if errs := checkRoles(roles); len(errs) > 0 {
		return nil, Invalid(errs...)
	}
	return o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		if u.Auditor && len(cloneRoles(roles)) > 0 {
			return nil, nil, Invalid(errAuditorRoles)
		}
		before := u.Roles
		u.Roles = cloneRoles(roles)
		return o.event(actor, "user.roles", u.ID, []string{"roles"},
			map[string]any{"before": before, "after": u.Roles}), nil, nil
	})
}

// Freeze locks the user out at once. Their sessions and API tokens are
// kept but refused while they are frozen: every node checks the user's
// version in the store on each request (Authenticate), so the very next
// one with any of their credentials is
// answered ELOCKED (423) rather than looking like a bad credential (401).
// Unfreeze revokes them, so nothing issued before the freeze comes back.
// Freezing a frozen user is a no-op. ENOTFOUND for an unknown user.
func (o *Org) Freeze(ctx context.Context, actor AuditActor, userID string) (*User, error) {
	u, err := o.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Frozen {
		return u, nil
	}
	return o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.Frozen = true
		return o.event(actor, "user.freeze", u.ID, []string{"frozen"}, nil), nil, nil
	})
}

// credentialDeletes returns the writes that delete every session and API
// token of a user.
func (o *Org) credentialDeletes(ctx context.Context, userID string) ([]DocWrite, error) {
	return o.credentialWrites(ctx, userID, "", true)
}

// ---- sessions and tokens ----

func newSecret(prefix string) (secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashSecret(secret)
}

// HashSecret returns the SHA-256 (hex) of a session or token secret: the
// id under which it is stored.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateSession starts a session for the user lasting ttl and returns the
// secret for the cookie (shown only now) and the session. ENOTFOUND for an
// unknown user, ELOCKED for a frozen one.
func (o *Org) CreateSession(ctx context.Context, actor AuditActor, userID string, ttl time.Duration) (string, *Session, error) {
	u, err := o.FindUserByID(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if u.Frozen {
		return "", nil, Errorf(ELOCKED, T("账号已冻结", "The account is frozen"))
	}
	secret, id := newSecret("fws_")
	csrf, _ := newSecret("")
	now := o.now()
	s := &Session{ID: id, UserID: u.ID, CSRF: csrf, IP: actor.IP, Agent: clipAgent(actor.Agent), CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC()}
	if _, err := o.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindSession, ID: id, Version: 1, Tags: []string{"user:" + u.ID}, Value: marshalDoc(s), Updated: now}}},
		Audit: []*AuditEvent{o.event(actor, "session.create", u.ID, nil, nil)},
	}); err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	return secret, s, nil
}

// FindSession returns the live session for a cookie secret. ENOTFOUND when
// it is unknown or expired. Callers still check that the user is not frozen.
func (o *Org) FindSession(ctx context.Context, secret string) (*Session, error) {
	d, err := o.store.FindDoc(ctx, KindSession, HashSecret(secret))
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, T("会话不存在或已过期", "The session does not exist or has expired"))
		}
		return nil, fmt.Errorf("find session: %w", err)
	}
	var s Session
	if err := DecodeDoc(d, &s); err != nil {
		return nil, err
	}
	if !o.now().Before(s.ExpiresAt) {
		return nil, Errorf(ENOTFOUND, T("会话不存在或已过期", "The session does not exist or has expired"))
	}
	return &s, nil
}

// DeleteSession ends the session of a cookie secret (logout). Deleting an
// unknown session is not an error.
func (o *Org) DeleteSession(ctx context.Context, actor AuditActor, secret string) error {
	id := HashSecret(secret)
	d, err := o.store.FindDoc(ctx, KindSession, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	var s Session
	_ = json.Unmarshal(d.Value, &s)
	if _, err := o.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindSession, ID: id}, ExpectVersion: AnyVersion, Delete: true}},
		Audit: []*AuditEvent{o.event(actor, "session.delete", s.UserID, nil, nil)},
	}); err != nil && ErrorCode(err) != ENOTFOUND {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CreateToken issues an API token for the user and returns its secret
// (shown only now) and the token. expiresAt may be nil for no expiry.
// ENOTFOUND for an unknown user, ELOCKED for a frozen one.
func (o *Org) CreateToken(ctx context.Context, actor AuditActor, userID, name string, expiresAt *time.Time) (string, *APIToken, error) {
	return o.issueToken(ctx, actor, userID, APIToken{Name: name, ExpiresAt: expiresAt})
}

// issueToken stores t (its id, user and times filled in here) for the
// user, audited as token.create, and returns the secret.
func (o *Org) issueToken(ctx context.Context, actor AuditActor, userID string, t APIToken) (string, *APIToken, error) {
	u, err := o.FindUserByID(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if u.Frozen {
		return "", nil, Errorf(ELOCKED, T("账号已冻结", "The account is frozen"))
	}
	secret, id := newSecret("fwt_")
	now := o.now()
	t.ID, t.UserID, t.CreatedAt = id, u.ID, now.UTC()
	t.IP, t.Agent = actor.IP, clipAgent(actor.Agent)
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	tags := []string{"user:" + u.ID}
	detail := map[string]any{"name": t.Name, "token": id[:12]}
	if t.Personal {
		tags = append(tags, "personal:"+u.ID)
		detail["apps"], detail["expires_at"] = t.Apps, t.ExpiresAt
	}
	if _, err := o.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindToken, ID: id, Version: 1, Tags: tags, Value: marshalDoc(t), Updated: now}}},
		Audit: []*AuditEvent{o.event(actor, "token.create", u.ID, nil, detail)},
	}); err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, &t, nil
}

// FindToken returns the API token for a bearer secret. ENOTFOUND when it
// is unknown or expired. Callers still check that the user is not frozen.
func (o *Org) FindToken(ctx context.Context, secret string) (*APIToken, error) {
	d, err := o.store.FindDoc(ctx, KindToken, HashSecret(secret))
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, T("令牌无效", "The token is not valid"))
		}
		return nil, fmt.Errorf("find token: %w", err)
	}
	var t APIToken
	if err := DecodeDoc(d, &t); err != nil {
		return nil, err
	}
	if t.ExpiresAt != nil && !o.now().Before(*t.ExpiresAt) {
		return nil, Errorf(ENOTFOUND, T("令牌无效", "The token is not valid"))
	}
	return &t, nil
}

// DeleteToken revokes an API token by its id (the hash). ENOTFOUND when
// it does not exist. A last-used time written meanwhile (Touch) does not
// fail it: it reads the token again.
func (o *Org) DeleteToken(ctx context.Context, actor AuditActor, id string) error {
	return retryConflict(func() error { return o.deleteToken(ctx, actor, id) })
}

func (o *Org) deleteToken(ctx context.Context, actor AuditActor, id string) error {
	d, err := o.store.FindDoc(ctx, KindToken, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, T("令牌不存在", "The token does not exist"))
		}
		return fmt.Errorf("delete token: %w", err)
	}
	var t APIToken
	_ = json.Unmarshal(d.Value, &t)
	if _, err := o.store.Apply(ctx, &Change{
		Docs: []DocWrite{{Doc: Doc{Kind: KindToken, ID: id}, ExpectVersion: d.Version, Delete: true}},
		Audit: []*AuditEvent{o.event(actor, "token.delete", t.UserID, nil,
			map[string]any{"name": t.Name, "token": id[:min(12, len(id))]})},
	}); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// ---- passwords ----

// Argon2id parameters (OWASP's minimum recommendation: 19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// argonSlots bounds the password hashes computed at once to the
// processors: each holds argonMemory KiB while it runs, and more at once
// than there are processors finish no sooner. Forty logins at once took
// a server to 837 MB resident without it (a pod's limit is 512 MiB); the
// others wait their turn.
var argonSlots = NewSlots(runtime.GOMAXPROCS(0))

// argon2id is argon2.IDKey in one of argonSlots.
func argon2id(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	release, _ := argonSlots.Take(context.Background()) // a background context never ends the wait
	defer release()
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// MinPasswordLen is the shortest password CreateUser accepts.
const MinPasswordLen = 10

// HashPassword returns the argon2id hash of password with a random salt, as
// a PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2id([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches a HashPassword string,
// comparing in constant time. A malformed hash never matches.
func VerifyPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<22 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2id([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// commonPasswords are refused whatever their length; only entries of at
// least MinPasswordLen characters matter, shorter ones fail on length.
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`
		1234567890 0123456789 0987654321 12345678910 123456789a a123456789 1234567890a
		1111111111 0000000000 8888888888 6666666666 1234512345 1122334455 1234554321
		password12 password123 password1234 passw0rd123 p@ssw0rd123 password!! password01
		qwertyuiop qwerty1234 qwerty12345 qwerty123456 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc
		zaq12wsxcde zxcvbnm123 asdfghjkl1 asdf123456 abc1234567 abcd123456 abcdefghij
		iloveyou12 iloveyou123 welcome123 welcome1234 letmein123 changeme123 admin12345
		admin123456 administrator football123 baseball123 princess123 sunshine123 monkey1234
		woaini1314 woaini520 woaini123456 5201314520 1314520520 qq123456789 aa123456789
		aa12345678 a1234567890 zhang123456 wang123456 li1234567890 formwork123 formwork1234
		superman123 starwars123 dragon1234 master1234 trustno1234 computer123 internet123
	`) {
		commonPasswords[p] = true
	}
}

// CheckPasswordPolicy returns a field error at /password when password is
// shorter than MinPasswordLen, equals the email (or its local part), or is
// a well-known common password; nil when it is acceptable.
func CheckPasswordPolicy(password, email string) *FieldError {
	fe := func(code string, msg Text) *FieldError {
		return &FieldError{Field: "/password", Code: code, Message: msg}
	}
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return fe("min_length", Tf("密码至少 %d 个字符", "The password must have at least %d characters", MinPasswordLen))
	}
	lp := strings.ToLower(password)
	email = NormalizeEmail(email)
	local, _, _ := strings.Cut(email, "@")
	if email != "" && (lp == email || lp == local) {
		return fe("same_as_email", T("密码不能与邮箱相同", "The password must not be the email address"))
	}
	if commonPasswords[lp] {
		return fe("common", T("密码过于常见，请换一个", "The password is too common; choose another"))
	}
	return nil
}

// PutUserRecord stores u exactly as given (its PasswordHash included),
// without the checks and the password hashing of CreateUser. It is for
// fixtures and tools that already hold a hashed password; it writes no
// audit event.
func PutUserRecord(ctx context.Context, s Store, u *User) error {
	_, err := s.Apply(ctx, &Change{Docs: []DocWrite{{Doc: userDoc(u, 1, u.CreatedAt)}}})
	return err
}
