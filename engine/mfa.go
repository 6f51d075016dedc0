package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KindMFA is the doc kind of a user's TOTP enrolment (doc id: the user id).
const KindMFA = "mfa"

// MFAIssuer names the product in authenticator apps.
const MFAIssuer = "Formwork"

// recoveryCodeCount is how many one-time recovery codes an enrolment gets.
const recoveryCodeCount = 10

// TOTP makes the time-based one-time passwords (RFC 6238) of two-factor
// authentication: six digits, 30-second steps, HMAC-SHA-1, as authenticator
// apps expect. The engine keeps enrolment, replay protection and recovery
// codes; package engine/totp implements this, and cmd/formwork hands it to
// NewService (ServiceOptions.TOTP).
type TOTP interface {
	// Generate returns a fresh random secret (base32) for account at
	// issuer and its otpauth:// URL.
	Generate(issuer, account string) (secret, url string, err error)
	// Code returns the code of secret at time t.
	Code(secret string, t time.Time) (string, error)
	// QRPNG draws url as a QR code (a PNG image) for an authenticator app to scan.
	QRPNG(url string) ([]byte, error)
}

var errNoTOTP = errors.New("mfa: no TOTP implementation configured (ServiceOptions.TOTP)")

// mfaDoc is a user's TOTP enrolment. The secret is needed to check codes:
// with an encrypting store it is kept, with the otpauth URL that carries
// it, only in Sealed, under the system data key; recovery codes are kept
// only as hashes.
type mfaDoc struct {
	User      string     `json:"user"`
	Sealed    string     `json:"sealed,omitempty"` // mfaSecret sealed under SystemKeyring (see sealMFA)
	Secret    string     `json:"secret,omitempty"` // stored only when the store keeps no keys
	URL       string     `json:"url,omitempty"`    // the otpauth:// URL, to show a pending enrolment again; as Secret
	Enabled   bool       `json:"enabled"`
	Recovery  []string   `json:"recovery,omitempty"` // HashSecret of each unused code
	LastStep  int64      `json:"last_step,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	EnabledAt *time.Time `json:"enabled_at,omitempty"`
	// ResetAt is when an administrator last reset the enrolment: it opens
	// the self-enrolment window again (see MFAEnrolWindow).
	ResetAt *time.Time `json:"reset_at,omitempty"`
}

// mfaSecret is what mfaDoc.Sealed holds.
type mfaSecret struct {
	Secret string `json:"secret"`
	URL    string `json:"url,omitempty"`
}

// mfaAAD binds a sealed secret to its user: moved to another user's doc it does not open.
func mfaAAD(user string) string { return "mfa/" + user }

// sealMFA returns the stored form of m: with a keyring the secret and URL
// sealed under the system data key and absent in clear.
func sealMFA(ctx context.Context, k *Keyring, m *mfaDoc) (json.RawMessage, error) {
	if k == nil {
		return MustJSON(m), nil
	}
	c := *m
	sealed, err := k.Encrypt(ctx, SystemKeyring, mfaAAD(m.User), mfaSecret{Secret: m.Secret, URL: m.URL})
	if err != nil {
		return nil, fmt.Errorf("mfa %s: %w", m.User, err)
	}
	c.Sealed, c.Secret, c.URL = sealed, "", ""
	return MustJSON(c), nil
}

// openMFA decodes a stored enrolment, opening its sealed secret.
func openMFA(ctx context.Context, k *Keyring, userID string, raw json.RawMessage) (*mfaDoc, error) {
	var m mfaDoc
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("mfa %s: %w", userID, err)
	}
	if m.Sealed == "" {
		return &m, nil
	}
	if k == nil {
		return nil, fmt.Errorf("mfa %s: the secret is sealed and this store holds no keys", userID)
	}
	plain, err := k.Open(ctx, SystemKeyring, mfaAAD(userID), m.Sealed)
	if err != nil {
		return nil, fmt.Errorf("mfa %s: %w", userID, err)
	}
	var sec mfaSecret
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("mfa %s: %w", userID, err)
	}
	m.Secret, m.URL, m.Sealed = sec.Secret, sec.URL, ""
	return &m, nil
}

// MFAEnrolment is what a user needs to add Formwork to an authenticator
// app: the secret, the otpauth:// URL and the same as a QR code (PNG).
type MFAEnrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"url"`
	QRPNG  []byte `json:"qr_png"`
}

func (s *Service) findMFA(ctx context.Context, userID string) (*mfaDoc, int64, error) {
	d, err := s.store.FindDoc(ctx, KindMFA, userID)
	if err != nil {
		return nil, 0, err
	}
	m, err := openMFA(ctx, s.keys, userID, d.Value)
	if err != nil {
		return nil, 0, err
	}
	return m, d.Version, nil
}

// putMFA is the write of an enrolment, sealed.
func (s *Service) putMFA(ctx context.Context, m *mfaDoc, expect int64) (DocWrite, error) {
	v, err := sealMFA(ctx, s.keys, m)
	if err != nil {
		return DocWrite{}, err
	}
	return DocWrite{Doc: Doc{Kind: KindMFA, ID: m.User, Value: v}, ExpectVersion: expect}, nil
}

// EnrolMFA starts (or restarts, while not yet confirmed) the caller's TOTP
// enrolment. An enabled enrolment is replaced only after ResetMFA.
func (s *Service) EnrolMFA(ctx context.Context, p *Principal) (*MFAEnrolment, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if s.totp == nil {
		return nil, errNoTOTP
	}
	cur, ver, err := s.findMFA(ctx, p.User.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	if cur != nil && cur.Enabled {
		return nil, Errorf(ECONFLICT, T("已启用两步验证", "two-factor authentication is already on"))
	}
	secret, url, err := s.totp.Generate(MFAIssuer, p.User.Email)
	if err != nil {
		return nil, fmt.Errorf("mfa enrol: %w", err)
	}
	qr, err := s.totp.QRPNG(url)
	if err != nil {
		return nil, fmt.Errorf("mfa enrol: qr: %w", err)
	}
	m := mfaDoc{User: p.User.ID, Secret: secret, URL: url, CreatedAt: s.now()}
	expect := int64(0)
	if cur != nil {
		expect, m.ResetAt = ver, cur.ResetAt
	}
	w, err := s.putMFA(ctx, &m, expect)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{w},
		Audit: []*AuditEvent{s.Event(p, "mfa.enrol", "", "", p.User.ID, nil, ResultOK, "")}}); err != nil {
		return nil, err
	}
	return &MFAEnrolment{Secret: secret, URL: url, QRPNG: qr}, nil
}

// PendingMFAEnrolment returns the caller's started but unconfirmed
// enrolment again (after a mistyped code), without a new secret.
// ENOTFOUND when there is none; ECONFLICT when it is on already.
func (s *Service) PendingMFAEnrolment(ctx context.Context, p *Principal) (*MFAEnrolment, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	m, _, err := s.findMFA(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if m.Enabled {
		return nil, Errorf(ECONFLICT, T("已启用两步验证", "two-factor authentication is already on"))
	}
	if m.URL == "" {
		return nil, Errorf(ENOTFOUND, T("请先开始绑定", "start the enrolment first"))
	}
	if s.totp == nil {
		return nil, errNoTOTP
	}
	qr, err := s.totp.QRPNG(m.URL)
	if err != nil {
		return nil, fmt.Errorf("mfa enrolment: qr: %w", err)
	}
	return &MFAEnrolment{Secret: m.Secret, URL: m.URL, QRPNG: qr}, nil
}

// ConfirmMFA turns the caller's pending enrolment on once they enter a
// valid code, and returns the recovery codes (shown once; stored hashed).
func (s *Service) ConfirmMFA(ctx context.Context, p *Principal, code string) ([]string, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	m, ver, err := s.findMFA(ctx, p.User.ID)
	if err == nil && m.Secret == "" {
		err = Errorf(ENOTFOUND, T("请先开始绑定", "start the enrolment first")) // reset, not started again
	}
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(FieldError{Field: "/totp", Code: "not_enrolled", Message: T("请先开始绑定", "start the enrolment first")})
		}
		return nil, err
	}
	step, ok, err := s.validTOTP(m.Secret, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		_ = s.audit.Write(ctx, s.Event(p, "mfa.confirm", "", "", p.User.ID, nil, ResultDenied, "wrong code"))
		return nil, Invalid(FieldError{Field: "/totp", Code: "invalid", Message: T("验证码不正确", "the code is not right")})
	}
	codes := make([]string, recoveryCodeCount)
	m.Recovery = make([]string, recoveryCodeCount)
	for i := range codes {
		codes[i] = recoveryCode()
		m.Recovery[i] = HashSecret(codes[i])
	}
	now := s.now()
	m.Enabled, m.EnabledAt, m.LastStep = true, &now, step
	w, err := s.putMFA(ctx, m, ver)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{w},
		Audit: []*AuditEvent{s.Event(p, "mfa.confirm", "", "", p.User.ID, nil, ResultOK, "")}}); err != nil {
		return nil, err
	}
	return codes, nil
}

// recoveryCode returns a random code like "7kq2-m9xd-4hpt".
func recoveryCode() string {
	const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// validTOTP checks a 6-digit code at the service clock, one step of skew
// either way, and returns its time step.
func (s *Service) validTOTP(secret, code string) (int64, bool, error) {
	if s.totp == nil {
		return 0, false, errNoTOTP
	}
	code = strings.TrimSpace(code)
	now := s.now()
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew) * 30 * time.Second)
		want, err := s.totp.Code(secret, t)
		if err != nil {
			return 0, false, fmt.Errorf("mfa: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true, nil
		}
	}
	return 0, false, nil
}

// MFARequired reports whether the user holds, in any app, a role with "mfa": true.
func (s *Service) MFARequired(ctx context.Context, u *User) (bool, error) {
	for app, roles := range u.Roles {
		b, _, err := s.Bundle(ctx, app, 0)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				continue
			}
			return false, err
		}
		for _, rk := range roles {
			if r := b.Role(rk); r != nil && r.MFA {
				return true, nil
			}
		}
	}
	return false, nil
}

// CheckLoginMFA is the second factor of a login, called after the password
// was accepted and before any session or token is issued: a user holding
// a role with "mfa": true must give a valid TOTP code (a code is good once)
// or an unused recovery code (consumed). Without one the login yields
// nothing: EUNAUTHORIZED with the field /totp, and code "mfa_required" or
// "mfa_enrolment_required" (then an administrator helps them enrol). A
// user who enrolled on their own is asked for a code too.
func (s *Service) CheckLoginMFA(ctx context.Context, p *Principal, u *User, code string) error {
	need, err := s.MFARequired(ctx, u)
	if err != nil {
		return err
	}
	m, ver, err := s.findMFA(ctx, u.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	enabled := m != nil && m.Enabled
	if !need && !enabled {
		return nil
	}
	actor := &Principal{User: u}
	if p != nil {
		actor.IP = p.IP
	}
	fail := func(reason, fcode string, msg Text) error {
		_ = s.audit.Write(ctx, s.Event(actor, "login.mfa", "", "", u.ID, nil, ResultDenied, reason))
		return &Error{Code: EUNAUTHORIZED, Message: msg, Fields: []FieldError{{Field: "/totp", Code: fcode, Message: msg}}}
	}
	if !enabled {
		if until, open := s.mfaEnrolUntil(u, m); open {
			return fail("not enrolled", "mfa_enrolment_required", Tf("你的角色需要两步验证：请在 %s 前通过网页登录绑定验证器",
				"your role needs two-factor authentication: sign in on the web page before %s to enrol an authenticator", until.In(s.zone).Format("2006-01-02 15:04 MST")))
		}
		return fail("not enrolled, enrolment window closed", "mfa_reset_required", msgMFAReset)
	}
	w, reason, msg, err := s.secondFactor(ctx, m, ver, code)
	if err != nil {
		return err
	}
	if reason != "" {
		return fail(reason, codeOf(reason), msg)
	}
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{w},
		Audit: []*AuditEvent{s.Event(actor, "login.mfa", "", "", u.ID, nil, ResultOK, "")}})
	if ErrorCode(err) == ECONFLICT {
		return fail("code raced", "invalid", msgCodeUsed)
	}
	return err
}

var msgCodeUsed = T("验证码已使用，请等待下一个", "that code was used already: wait for the next one")

// codeOf is the field error code of a refused second factor's reason.
func codeOf(reason string) string {
	if reason == "no code" {
		return "mfa_required"
	}
	return "invalid"
}

// secondFactor checks code against the enabled enrolment m (read at
// version ver): a TOTP code is good once, a recovery code is consumed. It
// returns the write that records the use, to go in the caller's Change
// (whose version check makes a code good exactly once, across nodes), or
// the reason it is refused (for the audit) and the message for the user.
func (s *Service) secondFactor(ctx context.Context, m *mfaDoc, ver int64, code string) (DocWrite, string, Text, error) {
	if strings.TrimSpace(code) == "" {
		return DocWrite{}, "no code", T("请输入两步验证码", "enter your two-factor code"), nil
	}
	step, ok, err := s.validTOTP(m.Secret, code)
	if err != nil {
		return DocWrite{}, "", Text{}, err
	}
	if ok {
		if step <= m.LastStep {
			return DocWrite{}, "code already used", msgCodeUsed, nil
		}
		m.LastStep = step
	} else {
		h := HashSecret(strings.ToLower(strings.TrimSpace(code)))
		found := -1
		for i, r := range m.Recovery {
			if subtle.ConstantTimeCompare([]byte(r), []byte(h)) == 1 {
				found = i
			}
		}
		if found < 0 {
			return DocWrite{}, "wrong code", T("验证码不正确", "the code is not right"), nil
		}
		m.Recovery = append(m.Recovery[:found], m.Recovery[found+1:]...)
	}
	w, err := s.putMFA(ctx, m, ver)
	return w, "", Text{}, err
}

// ResetMFA removes a user's enrolment (administrators only), so they can
// enrol again: at their next sign-in, within MFAEnrolWindow.
func (s *Service) ResetMFA(ctx context.Context, p *Principal, userRef string) error {
	if err := requireAdmin(p); err != nil {
		return s.deny(ctx, p, "mfa.reset", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return err
	}
	// the reset is kept (no secret, off): it opens the self-enrolment window again
	now := s.now()
	w, err := s.putMFA(ctx, &mfaDoc{User: u.ID, CreatedAt: now, ResetAt: &now}, AnyVersion)
	if err != nil {
		return err
	}
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{w},
		Audit: []*AuditEvent{s.Event(p, "mfa.reset", "", "", u.ID, nil, ResultOK, "")}})
	return err
}

// MFAEnrolled returns the ids of users whose two-factor enrolment is on
// (administrators only).
func (s *Service) MFAEnrolled(ctx context.Context, p *Principal) (map[string]bool, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "mfa.list", "", "", "", "not an administrator", err)
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindMFA})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, d := range docs {
		var m mfaDoc
		if json.Unmarshal(d.Value, &m) == nil && m.Enabled {
			out[d.ID] = true
		}
	}
	return out, nil
}
