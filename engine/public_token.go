package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// A public form page carries a form token: "NONCE.ISSUED.MAC", where NONCE
// is 16 random bytes (base64url), ISSUED the Unix second the page was
// served and MAC the HMAC-SHA256 of both under the link's own key. The
// token proves the page came from us for this link and not long ago
// (PublicFormTTL); its nonce is the proof-of-work challenge and, once
// submitted, is stored so the token cannot be used twice. The key lives in
// the link's doc, so every node checks tokens any node issued, and a
// revoked or replaced link's tokens die with it.

// PublicFormTTL is how long a public form page may be open before it must
// be loaded again.
const PublicFormTTL = 2 * time.Hour

// PublicWorkBits is the proof of work a public submission carries: the
// SHA-256 of "NONCE:WORK" starts with this many zero bits (about 65,000
// hashes in the page's script, a fraction of a second on a phone).
const PublicWorkBits = 16

const (
	nonceLen = 22 // base64url of 16 bytes
	macLen   = 43 // base64url of 32 bytes
	maxWork  = 12 // digits of a work counter
)

// formToken is a parsed form token.
type formToken struct {
	Nonce  string
	Issued int64
	MAC    string
}

// parseFormToken splits a form token into its parts, checking only their
// shape; EFORBIDDEN when it is not one.
func parseFormToken(s string) (formToken, error) {
	bad := Errorf(EFORBIDDEN, T("表单校验信息无效，请重新打开链接填写", "the form's check is not valid; open the link again"))
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != nonceLen || len(parts[2]) != macLen || len(parts[1]) == 0 || len(parts[1]) > 12 {
		return formToken{}, bad
	}
	if _, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		return formToken{}, bad
	}
	if _, err := base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return formToken{}, bad
	}
	for _, c := range parts[1] {
		if c < '0' || c > '9' {
			return formToken{}, bad
		}
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return formToken{}, bad
	}
	return formToken{Nonce: parts[0], Issued: n, MAC: parts[2]}, nil
}

func formTokenMAC(key []byte, nonce string, issued int64) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(nonce + "." + strconv.FormatInt(issued, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issueFormToken returns a new form token signed with key at now.
func issueFormToken(key []byte, now time.Time) string {
	nonce := randomB64(16)
	issued := now.Unix()
	return nonce + "." + strconv.FormatInt(issued, 10) + "." + formTokenMAC(key, nonce, issued)
}

// checkFormToken verifies a form token against the link's key at now:
// EFORBIDDEN when it is malformed or its MAC does not match (tampered, or
// from another link), EGONE when it is older than PublicFormTTL.
func checkFormToken(key []byte, s string, now time.Time) (formToken, error) {
	t, err := parseFormToken(s)
	if err != nil {
		return t, err
	}
	if !hmac.Equal([]byte(t.MAC), []byte(formTokenMAC(key, t.Nonce, t.Issued))) {
		return t, Errorf(EFORBIDDEN, T("表单校验信息无效，请重新打开链接填写", "the form's check is not valid; open the link again"))
	}
	issued := time.Unix(t.Issued, 0)
	if now.Sub(issued) > PublicFormTTL || issued.Sub(now) > time.Minute {
		return t, Errorf(EGONE, T("页面打开太久已过期，请重新打开链接填写", "the page was open too long and has expired; open the link again"))
	}
	return t, nil
}

// checkWork reports whether work is a proof of work for the nonce:
// SHA-256("NONCE:WORK") starts with at least PublicWorkBits zero bits.
func checkWork(nonce, work string) bool {
	if work == "" || len(work) > maxWork {
		return false
	}
	for _, c := range work {
		if c < '0' || c > '9' {
			return false
		}
	}
	return leadingZeroBits(sha256.Sum256([]byte(nonce+":"+work))) >= PublicWorkBits
}

func leadingZeroBits(sum [32]byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// SolveWork finds the proof of work for a form token's nonce, as the
// public page's script does; for tests and scripts that fill a public
// form. It returns "" for a malformed token.
func SolveWork(formTok string) string {
	t, err := parseFormToken(formTok)
	if err != nil {
		return ""
	}
	for i := 0; ; i++ {
		w := strconv.Itoa(i)
		if checkWork(t.Nonce, w) {
			return w
		}
	}
}

// randomB64 is n random bytes in base64url.
func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
