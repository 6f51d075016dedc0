package totp

import (
	"bytes"
	"image/png"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCodeRFC6238 checks codes against the SHA-1 test vectors of RFC 6238
// appendix B (secret "12345678901234567890"), cut to six digits.
func TestCodeRFC6238(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	} {
		got, err := New().Code(secret, time.Unix(tc.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("code at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
	if _, err := New().Code("not base32!", time.Unix(59, 0)); err == nil {
		t.Errorf("a malformed secret gives a code")
	}
}

func TestGenerate(t *testing.T) {
	tp := New()
	secret, raw, err := tp.Generate("Formwork", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := tp.Generate("Formwork", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 || secret == other {
		t.Errorf("secrets %q and %q: want two different 160-bit base32 secrets", secret, other)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"scheme": u.Scheme, "host": u.Host, "path": u.Path, "secret": u.Query().Get("secret"),
		"issuer": u.Query().Get("issuer"), "digits": u.Query().Get("digits"), "period": u.Query().Get("period"), "algorithm": u.Query().Get("algorithm")}
	want := map[string]string{"scheme": "otpauth", "host": "totp", "path": "/Formwork:ann@example.com", "secret": secret,
		"issuer": "Formwork", "digits": "6", "period": "30", "algorithm": "SHA1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("otpauth URL %s (-want +got):\n%s", raw, diff)
	}
	// a code of the new secret is what an authenticator computes from the URL
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if c, err := tp.Code(secret, now); err != nil || len(c) != 6 {
		t.Errorf("code %q %v", c, err)
	}
	png1, err := tp.QRPNG(raw)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(png1))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != QRSize || b.Dy() != QRSize {
		t.Errorf("QR image %v, want %dx%d", b, QRSize, QRSize)
	}
}
