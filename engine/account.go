package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// A signed-in user's own account: their password, their sessions and
// devices, and the personal API tokens they give integrations. Everything
// here acts on the principal's own user only, and never for a personal
// token: a token handed to an integration cannot mint more tokens, change
// the password or end the owner's sessions.

// errMustChangePassword is the one answer to anything but a password change
// while an administrator's reset is pending.
var errMustChangePassword = Errorf(EPASSWORDCHANGE, T("管理员已重置您的密码，请先设置新密码", "An administrator reset your password: set a new one first"))

// ErrMustChangePassword returns the error of a user who must change their
// password before anything else.
func ErrMustChangePassword() error { return errMustChangePassword }

// AllowsApp reports whether p may act in app: always, except for a
// personal token limited to other apps.
func (p *Principal) AllowsApp(app string) bool {
	if p == nil || p.Token == nil || len(p.Token.Apps) == 0 {
		return true
	}
	return slices.Contains(p.Token.Apps, app)
}

// CheckTokenApp is EFORBIDDEN when p's personal token is limited to apps
// other than app, nil otherwise.
func CheckTokenApp(p *Principal, app string) error {
	if p.AllowsApp(app) {
		return nil
	}
	return Errorf(EFORBIDDEN, Tf("此令牌仅限用于应用 %s，不能用于应用 %s", "This token is limited to the apps %s; it cannot be used in the app %s",
		strings.Join(p.Token.Apps, ", "), app))
}

// limitedToken reports whether p acts through a personal token limited to
// some apps, which may do nothing system-wide.
func limitedToken(p *Principal) bool {
	return p != nil && p.Token != nil && len(p.Token.Apps) > 0
}

var errLimitedToken = Errorf(EFORBIDDEN, T("限定应用的令牌不能进行系统管理", "A token limited to some apps cannot administer the system"))

// requireAccountOwner admits a signed-in user acting through a browser
// session or a login token; personal tokens manage nothing of the account.
func requireAccountOwner(p *Principal) error {
	if p == nil || p.User == nil {
		return Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if p.Token != nil {
		return Errorf(EFORBIDDEN, T("个人令牌不能管理账号，请登录后操作", "A personal token cannot manage the account; log in to do this"))
	}
	return nil
}

// ---- last seen ----

// touchDoc sets the time seen points at to now in the doc, at its version:
// a doc deleted or changed meanwhile is left alone.
func touchDoc[T any](ctx context.Context, o *Org, kind, id string, seen func(*T) **time.Time) error {
	d, err := o.store.FindDoc(ctx, kind, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("touch %s: %w", kind, err)
	}
	var v T
	if err := DecodeDoc(d, &v); err != nil {
		return err
	}
	now := o.now().UTC().Truncate(time.Second)
	at := seen(&v)
	if *at != nil && now.Sub(**at) < touchEvery {
		return nil
	}
	*at = &now
	_, err = o.store.Apply(ctx, &Change{Docs: []DocWrite{{
		Doc:           Doc{Kind: kind, ID: id, Version: d.Version + 1, Tags: d.Tags, Unique: d.Unique, Value: marshalDoc(v), Updated: now},
		ExpectVersion: d.Version,
	}}})
	if c := ErrorCode(err); c == ECONFLICT || c == ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("touch %s: %w", kind, err)
	}
	return nil
}

// clipAgent keeps a User-Agent to a sane length for storage and display.
func clipAgent(a string) string {
	const max = 300
	if len(a) <= max {
		return a
	}
	for n := max; n > 0; n-- {
		if utf8.RuneStart(a[n]) {
			return a[:n]
		}
	}
	return ""
}

// ---- passwords ----

// ChangePassword sets the principal's own password after checking the
// current one, and ends their other browser sessions and login tokens
// (keep, the credential the request came with, stays; personal tokens stay
// too — they are revoked one by one). It clears a pending administrator's
// reset. EINVALID with a field error at /current (wrong password) or /new
// (the password rules, or the same password again); EFORBIDDEN for a
// personal token.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, keep, current, next string) error {
	if err := requireAccountOwner(p); err != nil {
		return s.deny(ctx, p, "user.password", "", "", p.Actor(), "not the account owner", err)
	}
	u, err := s.org.FindUserByID(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if u.Frozen {
		return Errorf(ELOCKED, T("账号已冻结", "The account is frozen"))
	}
	if !VerifyPassword(u.PasswordHash, current) {
		_ = s.audit.Write(ctx, s.Event(p, "user.password", "", "", u.ID, []string{"password"}, ResultFailed, "wrong current password"))
		return Invalid(FieldError{Field: "/current", Code: "wrong", Message: T("当前密码不正确", "The current password is wrong")})
	}
	if fe := CheckPasswordPolicy(next, u.Email); fe != nil {
		fe.Field = "/new"
		return Invalid(*fe)
	}
	if next == current {
		return Invalid(FieldError{Field: "/new", Code: "unchanged", Message: T("新密码不能与当前密码相同", "The new password must differ from the current one")})
	}
	hash, err := HashPassword(next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ends, err := s.org.credentialWrites(ctx, u.ID, keep, false)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	_, err = s.org.updateUser(ctx, u.ID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.PasswordHash, u.MustChangePassword = hash, false
		ev := s.org.event(principalActor(p), "user.password", u.ID, []string{"password"}, map[string]any{"sessions_ended": len(ends)})
		return ev, ends, nil
	})
	return err
}

// oneTimeAlphabet leaves out letters and digits read alike (0/o, 1/l/i).
const oneTimeAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// oneTimePassword returns a random password of three groups of four, easy
// to read out: 60 bits.
func oneTimePassword() string {
	var b strings.Builder
	n := big.NewInt(int64(len(oneTimeAlphabet)))
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic("engine: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(oneTimeAlphabet[k.Int64()])
	}
	return b.String()
}

// ResetPassword gives a user a new one-time password, returned only now,
// which they must change at their next login (administrators only). It
// ends the user's sessions and login tokens and clears a lock-out; their
// personal tokens stay. ENOTFOUND for an unknown user.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, userRef string) (string, *User, error) {
	if err := requireAdmin(p); err != nil {
		return "", nil, s.deny(ctx, p, "user.password.reset", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return "", nil, err
	}
	pw := oneTimePassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return "", nil, fmt.Errorf("reset password: %w", err)
	}
	ends, err := s.org.credentialWrites(ctx, u.ID, "", false)
	if err != nil {
		return "", nil, fmt.Errorf("reset password: %w", err)
	}
	u, err = s.org.updateUser(ctx, u.ID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.PasswordHash, u.MustChangePassword = hash, true
		u.FailedLogins, u.LockedUntil = 0, nil
		ev := s.org.event(principalActor(p), "user.password.reset", u.ID, []string{"password"}, map[string]any{"sessions_ended": len(ends)})
		return ev, ends, nil
	})
	if err != nil {
		return "", nil, err
	}
	return pw, u, nil
}

// credentialWrites returns the writes that delete a user's browser
// sessions and login tokens but keep (a session or token id), and with
// personal also their personal tokens.
func (o *Org) credentialWrites(ctx context.Context, userID, keep string, personal bool) ([]DocWrite, error) {
	var writes []DocWrite
	for _, kind := range []string{KindSession, KindToken} {
		docs, err := o.store.FindDocs(ctx, DocQuery{Kind: kind, Tag: "user:" + userID})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.ID == keep || (!personal && slices.Contains(d.Tags, "personal:"+userID)) {
				continue
			}
			writes = append(writes, DocWrite{Doc: Doc{Kind: kind, ID: d.ID}, ExpectVersion: AnyVersion, Delete: true})
		}
	}
	return writes, nil
}

// ---- sessions and devices ----

// SessionInfo is one place a user is signed in: a browser session or a
// login token of the API.
type SessionInfo struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"` // "browser" or "api"
	Agent      string     `json:"agent,omitempty"`
	IP         string     `json:"ip,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Current    bool       `json:"current"`
}

// Session kinds of SessionInfo.
const (
	SessionBrowser = "browser"
	SessionAPI     = "api"
)

// lastSeen is when the session was last used, or started.
func (si *SessionInfo) lastSeen() time.Time {
	if si.LastSeenAt != nil {
		return *si.LastSeenAt
	}
	return si.CreatedAt
}

// Sessions lists where the principal is signed in: the current one, then
// the most recently used first; current (the id of the request's own session or token) is
// marked. Expired ones are left out. EFORBIDDEN for a personal token.
func (s *Service) Sessions(ctx context.Context, p *Principal, current string) ([]*SessionInfo, error) {
	if err := requireAccountOwner(p); err != nil {
		return nil, err
	}
	now := s.now()
	var out []*SessionInfo
	sessions, err := s.store.FindDocs(ctx, DocQuery{Kind: KindSession, Tag: "user:" + p.User.ID})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for _, d := range sessions {
		var se Session
		if err := DecodeDoc(d, &se); err != nil {
			return nil, err
		}
		if !now.Before(se.ExpiresAt) {
			continue
		}
		exp := se.ExpiresAt
		out = append(out, &SessionInfo{ID: se.ID, Kind: SessionBrowser, Agent: se.Agent, IP: se.IP, CreatedAt: se.CreatedAt,
			LastSeenAt: se.LastSeenAt, ExpiresAt: &exp, Current: se.ID == current})
	}
	tokens, err := s.userTokens(ctx, p.User.ID, false)
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		out = append(out, &SessionInfo{ID: t.ID, Kind: SessionAPI, Agent: t.Agent, IP: t.IP, CreatedAt: t.CreatedAt,
			LastSeenAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, Current: t.ID == current})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Current != out[j].Current {
			return out[i].Current
		}
		return out[i].lastSeen().After(out[j].lastSeen())
	})
	return out, nil
}

// userTokens lists a user's live API tokens: the personal ones, or the
// login tokens.
func (s *Service) userTokens(ctx context.Context, userID string, personal bool) ([]*APIToken, error) {
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindToken, Tag: "user:" + userID})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	now := s.now()
	var out []*APIToken
	for _, d := range docs {
		var t APIToken
		if err := DecodeDoc(d, &t); err != nil {
			return nil, err
		}
		if t.Personal != personal || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
			continue
		}
		out = append(out, &t)
	}
	return out, nil
}

func errSessionNotFound() error {
	return Errorf(ENOTFOUND, T("会话不存在或已结束", "The session does not exist or has ended"))
}

// EndSession ends one of the principal's own sessions or login tokens by
// id: that browser or script is signed out on its next request, on every
// node. ENOTFOUND when it is not theirs or gone already.
func (s *Service) EndSession(ctx context.Context, p *Principal, id string) error {
	if err := requireAccountOwner(p); err != nil {
		return err
	}
	for _, kind := range []string{KindSession, KindToken} {
		d, err := s.store.FindDoc(ctx, kind, id)
		if ErrorCode(err) == ENOTFOUND {
			continue
		}
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		if !slices.Contains(d.Tags, "user:"+p.User.ID) || slices.Contains(d.Tags, "personal:"+p.User.ID) {
			break
		}
		_, err = s.store.Apply(ctx, &Change{
			Docs:  []DocWrite{{Doc: Doc{Kind: kind, ID: id}, ExpectVersion: AnyVersion, Delete: true}},
			Audit: []*AuditEvent{s.org.event(principalActor(p), "session.end", p.User.ID, nil, map[string]any{"session": shortID(id), "kind": kind})},
		})
		if ErrorCode(err) == ENOTFOUND {
			return errSessionNotFound()
		}
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return nil
	}
	return errSessionNotFound()
}

// EndOtherSessions ends every browser session and login token of the
// principal but keep (the request's own) and returns how many it ended.
func (s *Service) EndOtherSessions(ctx context.Context, p *Principal, keep string) (int, error) {
	if err := requireAccountOwner(p); err != nil {
		return 0, err
	}
	ends, err := s.org.credentialWrites(ctx, p.User.ID, keep, false)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	if len(ends) == 0 {
		return 0, nil
	}
	if _, err := s.store.Apply(ctx, &Change{
		Docs:  ends,
		Audit: []*AuditEvent{s.org.event(principalActor(p), "session.end_others", p.User.ID, nil, map[string]any{"ended": len(ends)})},
	}); err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return len(ends), nil
}

func shortID(id string) string { return id[:min(12, len(id))] }

// ---- personal API tokens ----

// Limits of personal tokens.
const (
	MaxTokenLifetime  = 366 * 24 * time.Hour
	MaxPersonalTokens = 50
	maxTokenName      = 100
)

// NewToken is the input of CreatePersonalToken: a name, a lifetime as an
// ISO 8601 duration (P90D) and, optionally, the only apps it may act in.
type NewToken struct {
	Name      string   `json:"name"`
	ExpiresIn string   `json:"expires_in"`
	Apps      []string `json:"apps,omitempty"`
}

// CreatePersonalToken issues a personal API token to the principal and
// returns its secret, shown only now. EINVALID for a missing or long name,
// a lifetime that is not a duration of at most MaxTokenLifetime, an app
// that does not exist, or too many tokens; EFORBIDDEN for a personal token.
func (s *Service) CreatePersonalToken(ctx context.Context, p *Principal, in NewToken) (string, *APIToken, error) {
	if err := requireAccountOwner(p); err != nil {
		return "", nil, s.deny(ctx, p, "token.create", "", "", p.Actor(), "not the account owner", err)
	}
	name := strings.TrimSpace(in.Name)
	var errs []FieldError
	switch {
	case name == "":
		errs = append(errs, FieldError{Field: "/name", Code: "required", Message: T("请填写令牌名称", "The token name is required")})
	case utf8.RuneCountInString(name) > maxTokenName:
		errs = append(errs, FieldError{Field: "/name", Code: "maxLength", Message: Tf("令牌名称最多 %d 个字", "The token name has at most %d characters", maxTokenName)})
	}
	life, err := ParseISODuration(in.ExpiresIn)
	if err != nil || life > MaxTokenLifetime || life < time.Hour {
		errs = append(errs, FieldError{Field: "/expires_in", Code: "range", Message: T("有效期须在 1 小时到 1 年之间（如 P90D 表示 90 天）",
			"The lifetime must be between an hour and a year (P90D is 90 days)")})
	}
	apps, appErrs, err := s.checkTokenApps(ctx, in.Apps)
	if err != nil {
		return "", nil, err
	}
	errs = append(errs, appErrs...)
	if len(errs) > 0 {
		return "", nil, Invalid(errs...)
	}
	n, err := s.store.CountDocs(ctx, DocQuery{Kind: KindToken, Tag: "personal:" + p.User.ID})
	if err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	if n >= MaxPersonalTokens {
		return "", nil, Invalid(FieldError{Field: "/name", Code: "maxItems", Message: Tf("最多 %d 个个人令牌，请先撤销不用的", "At most %d personal tokens: revoke one you no longer use", MaxPersonalTokens)})
	}
	exp := s.now().Add(life)
	return s.org.issueToken(ctx, principalActor(p), p.User.ID, APIToken{Name: name, ExpiresAt: &exp, Personal: true, Apps: apps})
}

// checkTokenApps returns the distinct, sorted app keys of a token, and a
// field error for each app that does not exist.
func (s *Service) checkTokenApps(ctx context.Context, apps []string) ([]string, []FieldError, error) {
	var out []string
	var errs []FieldError
	for i, a := range apps {
		if slices.Contains(out, a) {
			continue
		}
		_, _, err := s.findApp(ctx, a)
		switch ErrorCode(err) {
		case "":
			out = append(out, a)
		case ENOTFOUND:
			errs = append(errs, FieldError{Field: fmt.Sprintf("/apps/%d", i), Code: "not_found", Message: Tf("应用 %s 不存在", "The app %s does not exist", a)})
		default:
			return nil, nil, err
		}
	}
	sort.Strings(out)
	return out, errs, nil
}

// PersonalTokens lists the principal's live personal tokens, newest first.
func (s *Service) PersonalTokens(ctx context.Context, p *Principal) ([]*APIToken, error) {
	if err := requireAccountOwner(p); err != nil {
		return nil, err
	}
	ts, err := s.userTokens(ctx, p.User.ID, true)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].CreatedAt.After(ts[j].CreatedAt) })
	return ts, nil
}

// RevokePersonalToken revokes one of the principal's personal tokens: its
// next use answers 401 on every node. ENOTFOUND when it is not theirs.
func (s *Service) RevokePersonalToken(ctx context.Context, p *Principal, id string) error {
	if err := requireAccountOwner(p); err != nil {
		return s.deny(ctx, p, "token.delete", "", "", id, "not the account owner", err)
	}
	d, err := s.store.FindDoc(ctx, KindToken, id)
	if ErrorCode(err) == ENOTFOUND || (err == nil && !slices.Contains(d.Tags, "personal:"+p.User.ID)) {
		return Errorf(ENOTFOUND, T("令牌不存在", "The token does not exist"))
	}
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return s.org.DeleteToken(ctx, principalActor(p), id)
}
