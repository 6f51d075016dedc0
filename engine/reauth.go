package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// An anomaly rule whose action is reauth asks its user to prove the second
// factor again. The mark is a time on the user (ReauthAt), and every
// session and token remembers when it last proved the factor (VerifiedAt,
// else its creation): one verified before the mark serves nothing until it
// proves it again. Each node reads the user and the credential from the
// store on every request, so the mark holds on every node at once, and a
// new login (which asks for the code) is never affected.
//
// A user with no second factor on cannot prove one: the rule ends their
// sessions and tokens instead, so they sign in again with their password
// (and enrol, when a role needs it, under the login's own rules).

// maxReauthFailures is how many wrong codes one credential takes before
// it is ended and its user must sign in again.
const maxReauthFailures = 5

// Credential names one session or API token by its doc kind and id.
type Credential struct {
	Kind string // KindSession or KindToken
	ID   string // the hash of its secret
}

// Verified returns when the session last proved the second factor.
func (s *Session) Verified() time.Time { return verifiedAt(s.VerifiedAt, s.CreatedAt) }

// Verified returns when the token last proved the second factor.
func (t *APIToken) Verified() time.Time { return verifiedAt(t.VerifiedAt, t.CreatedAt) }

func verifiedAt(v *time.Time, created time.Time) time.Time {
	if v != nil {
		return *v
	}
	return created
}

// NeedsReauth reports whether a credential that last proved the second
// factor at verified must prove it again before it serves u.
func (u *User) NeedsReauth(verified time.Time) bool {
	return u.ReauthAt != nil && verified.Before(*u.ReauthAt)
}

// ErrReauth is the refusal of a credential that must prove the second
// factor again (EREAUTH, 401).
func ErrReauth() error {
	msg := T("为了账号安全，请再次输入两步验证码", "for your account's safety, enter your two-factor code again")
	return &Error{Code: EREAUTH, Message: msg, Fields: []FieldError{{Field: "/totp", Code: EREAUTH, Message: msg}}}
}

// RequireReauth marks the user so that every session and token they hold
// must prove the second factor again; with end, it also ends them all (for
// a user without a second factor). Audited as user.reauth with the alert
// that asked for it. ENOTFOUND for an unknown user.
func (o *Org) RequireReauth(ctx context.Context, actor AuditActor, userID, alert string, end bool) (*User, error) {
	var ended []DocWrite
	if end {
		var err error
		if ended, err = o.credentialDeletes(ctx, userID); err != nil {
			return nil, fmt.Errorf("require reauth: %w", err)
		}
	}
	return o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		now := o.now().UTC()
		u.ReauthAt = &now
		return o.event(actor, "user.reauth", u.ID, []string{"reauth_at"},
			map[string]any{"alert": alert, "credentials_ended": len(ended)}), ended, nil
	})
}

// requireReauth is a reauth rule's action on u: the mark, and for a user
// without a second factor the end of their sessions and tokens.
func (s *Service) requireReauth(ctx context.Context, u *User, alert string) error {
	m, _, err := s.findMFA(ctx, u.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	_, err = s.org.RequireReauth(ctx, AuditActor{ID: SystemActor}, u.ID, alert, m == nil || !m.Enabled)
	return err
}

// Reauthenticate proves the second factor again for the caller's
// credential c (a TOTP code, good once, or a recovery code, consumed), so
// it serves them again; audited as reauth (ok or denied). A wrong code is
// EUNAUTHORIZED with the field /totp; the fifth on one credential ends it.
// A caller with no second factor on cannot prove one: their credential is
// ended and the error (EUNAUTHORIZED, field code login_required) says to
// sign in again.
func (s *Service) Reauthenticate(ctx context.Context, p *Principal, c Credential, code string) error {
	u := p.User
	d, err := s.store.FindDoc(ctx, c.Kind, c.ID)
	if err != nil {
		return Errorf(EUNAUTHORIZED, T("请重新登录", "please log in again"))
	}
	fail := func(reason, fcode string, msg Text, end bool) error {
		w := credentialCount(d)
		if end {
			w = DocWrite{Doc: Doc{Kind: d.Kind, ID: d.ID}, ExpectVersion: AnyVersion, Delete: true}
		} else if w.Delete {
			fcode, msg = "login_required", T("验证失败次数过多，请重新登录", "too many wrong codes: please log in again")
		}
		_, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{w},
			Audit: []*AuditEvent{s.Event(p, "reauth", "", "", u.ID, nil, ResultDenied, reason)}})
		if err != nil && ErrorCode(err) != ECONFLICT && ErrorCode(err) != ENOTFOUND {
			return fmt.Errorf("reauth: %w", err)
		}
		return &Error{Code: EUNAUTHORIZED, Message: msg, Fields: []FieldError{{Field: "/totp", Code: fcode, Message: msg}}}
	}
	m, ver, err := s.findMFA(ctx, u.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	if m == nil || !m.Enabled {
		return fail("no second factor", "login_required", T("你没有启用两步验证，请重新登录", "you have no two-factor authentication: please log in again"), true)
	}
	w, reason, msg, err := s.secondFactor(ctx, m, ver, code)
	if err != nil {
		return err
	}
	if reason != "" {
		return fail(reason, codeOf(reason), msg, false)
	}
	now := s.now().UTC()
	cw, err := credentialVerified(d, now)
	if err != nil {
		return err
	}
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{w, cw},
		Audit: []*AuditEvent{s.Event(p, "reauth", "", "", u.ID, nil, ResultOK, "")}})
	if ErrorCode(err) == ECONFLICT {
		return fail("code raced", "invalid", msgCodeUsed, false)
	}
	if err != nil {
		return fmt.Errorf("reauth: %w", err)
	}
	return nil
}

// credentialVerified is the write of a session or token doc proved at now:
// its VerifiedAt set and its failure count cleared, every other field kept.
func credentialVerified(d *Doc, now time.Time) (DocWrite, error) {
	var v map[string]any
	if err := json.Unmarshal(d.Value, &v); err != nil {
		return DocWrite{}, fmt.Errorf("reauth %s: %w", d.Kind, err)
	}
	v["verified_at"] = now
	delete(v, "reauth_failures")
	return credentialPut(d, v), nil
}

// credentialCount is the write that counts one more wrong code on a
// session or token doc; the last allowed one deletes it.
func credentialCount(d *Doc) DocWrite {
	var v map[string]any
	_ = json.Unmarshal(d.Value, &v)
	if v == nil {
		v = map[string]any{}
	}
	n, _ := v["reauth_failures"].(float64)
	if int(n)+1 >= maxReauthFailures {
		return DocWrite{Doc: Doc{Kind: d.Kind, ID: d.ID}, ExpectVersion: AnyVersion, Delete: true}
	}
	v["reauth_failures"] = int(n) + 1
	return credentialPut(d, v)
}

func credentialPut(d *Doc, v map[string]any) DocWrite {
	return DocWrite{Doc: Doc{Kind: d.Kind, ID: d.ID, Version: d.Version + 1, Tags: d.Tags, Unique: d.Unique, Value: MustJSON(v), Updated: d.Updated},
		ExpectVersion: d.Version}
}
