package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// KindLoginPending is the doc kind of a login waiting for its second
// factor (doc id: the hash of the secret the browser holds).
const KindLoginPending = "login_pending"

// PendingLoginTTL is how long a password-checked login waits for its code.
const PendingLoginTTL = 5 * time.Minute

// MFAEnrolWindow is how long after an account is created, or after an
// administrator reset its second factor, its user may enrol an
// authenticator at sign-in with the password alone (on the HTML login; the
// API's login tells them to). After that only an administrator's reset
// opens enrolment again: a password found or guessed later must not be
// enough to bind the finder's authenticator to an account whose role
// needs a second factor.
const MFAEnrolWindow = 72 * time.Hour

var msgMFAReset = T("你的角色需要两步验证，自助绑定的期限已过，请联系管理员重置",
	"your role needs two-factor authentication and the time to set it up yourself has passed: ask an administrator to reset it")

// mfaEnrolUntil returns the end of u's self-enrolment window (from the
// account's creation or the last reset in m) and whether it is still open.
func (s *Service) mfaEnrolUntil(u *User, m *mfaDoc) (time.Time, bool) {
	from := u.CreatedAt
	if m != nil && m.ResetAt != nil && m.ResetAt.After(from) {
		from = *m.ResetAt
	}
	until := from.Add(MFAEnrolWindow)
	return until, !from.IsZero() && s.now().Before(until)
}

// CheckMFAEnrolAtLogin is asked before, and at every step of, an
// enrolment made with the password alone (the HTML login's enrolment
// step): nil while u's self-enrolment window is open (see MFAEnrolWindow)
// and they have no enrolment on; otherwise EUNAUTHORIZED with the field
// /totp, code "mfa_reset_required" (an administrator resets it), audited
// as a denied login.mfa.
func (s *Service) CheckMFAEnrolAtLogin(ctx context.Context, p *Principal, u *User) error {
	m, _, err := s.findMFA(ctx, u.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	if m != nil && m.Enabled {
		return Errorf(ECONFLICT, T("已启用两步验证", "two-factor authentication is already on"))
	}
	if _, open := s.mfaEnrolUntil(u, m); open {
		return nil
	}
	actor := &Principal{User: u}
	if p != nil {
		actor.IP = p.IP
	}
	_ = s.audit.Write(ctx, s.Event(actor, "login.mfa", "", "", u.ID, nil, ResultDenied, "not enrolled, enrolment window closed"))
	return &Error{Code: EUNAUTHORIZED, Message: msgMFAReset, Fields: []FieldError{{Field: "/totp", Code: "mfa_reset_required", Message: msgMFAReset}}}
}

// maxPendingAttempts is how many wrong codes one pending login takes
// before it is dropped and the password must be given again.
const maxPendingAttempts = 5

// PendingLogin is a login whose password was right and which waits for a
// TOTP code, or for the enrolment a role requires. It grants nothing but
// the second step: no session or token exists until that succeeds.
type PendingLogin struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	CSRF      string    `json:"csrf"`
	Enrol     bool      `json:"enrol,omitempty"` // the user must enrol first
	Attempts  int       `json:"attempts,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	Version   int64     `json:"-"`
}

// MFAState tells whether a user's login needs a second factor (a role
// requires it or they enrolled) and whether they are enrolled.
func (s *Service) MFAState(ctx context.Context, u *User) (needed, enrolled bool, err error) {
	req, err := s.MFARequired(ctx, u)
	if err != nil {
		return false, false, err
	}
	m, _, err := s.findMFA(ctx, u.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return false, false, err
	}
	enrolled = m != nil && m.Enabled
	return req || enrolled, enrolled, nil
}

// StartPendingLogin records that u gave the right password and now owes
// the second factor; it returns the secret for the browser (shown only now).
func (s *Service) StartPendingLogin(ctx context.Context, u *User, enrol bool) (string, *PendingLogin, error) {
	secret, id := newSecret("fwm_")
	csrf, _ := newSecret("")
	pl := &PendingLogin{ID: id, UserID: u.ID, CSRF: csrf, Enrol: enrol, ExpiresAt: s.now().Add(PendingLoginTTL).UTC()}
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindLoginPending, ID: id, Tags: []string{"user:" + u.ID}, Value: MustJSON(pl)}}}}); err != nil {
		return "", nil, fmt.Errorf("pending login: %w", err)
	}
	pl.Version = 1
	return secret, pl, nil
}

// FindPendingLogin returns the live pending login of a secret. ENOTFOUND
// when it is unknown, expired or used up.
func (s *Service) FindPendingLogin(ctx context.Context, secret string) (*PendingLogin, error) {
	gone := Errorf(ENOTFOUND, T("登录已过期，请重新输入密码", "the login has expired: enter your password again"))
	if secret == "" {
		return nil, gone
	}
	d, err := s.store.FindDoc(ctx, KindLoginPending, HashSecret(secret))
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, gone
		}
		return nil, err
	}
	var pl PendingLogin
	if err := json.Unmarshal(d.Value, &pl); err != nil {
		return nil, fmt.Errorf("pending login: %w", err)
	}
	if !s.now().Before(pl.ExpiresAt) || pl.Attempts >= maxPendingAttempts {
		return nil, gone
	}
	pl.Version = d.Version
	return &pl, nil
}

// FailPendingLogin counts a wrong code; the last allowed one drops the
// pending login.
func (s *Service) FailPendingLogin(ctx context.Context, pl *PendingLogin) error {
	pl.Attempts++
	w := DocWrite{Doc: Doc{Kind: KindLoginPending, ID: pl.ID, Tags: []string{"user:" + pl.UserID}, Value: MustJSON(pl)}, ExpectVersion: pl.Version}
	if pl.Attempts >= maxPendingAttempts {
		w = DocWrite{Doc: Doc{Kind: KindLoginPending, ID: pl.ID}, ExpectVersion: AnyVersion, Delete: true}
	}
	_, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{w}})
	if ErrorCode(err) == ECONFLICT || ErrorCode(err) == ENOTFOUND {
		return nil
	}
	return err
}

// EndPendingLogin removes a pending login once its second step succeeded.
func (s *Service) EndPendingLogin(ctx context.Context, pl *PendingLogin) error {
	_, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindLoginPending, ID: pl.ID}, ExpectVersion: AnyVersion, Delete: true}}})
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	return err
}
