package engine

import (
	"strings"
	"testing"
	"time"
)

func TestFormToken(t *testing.T) {
	key, other := []byte("the link's key"), []byte("another link's key")
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	tok := issueFormToken(key, t0)
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
		return string(b)
	}
	parts := strings.Split(tok, ".")
	tests := []struct {
		name string
		tok  string
		key  []byte
		at   time.Time
		code string // "" = accepted
	}{
		{"fresh", tok, key, t0, ""},
		{"just before it expires", tok, key, t0.Add(PublicFormTTL), ""},
		{"expired", tok, key, t0.Add(PublicFormTTL + time.Second), EGONE},
		{"from the future", tok, key, t0.Add(-2 * time.Minute), EGONE},
		{"another link's key", tok, other, t0, EFORBIDDEN},
		{"nonce changed", flip(tok, 0), key, t0, EFORBIDDEN},
		{"time moved forward", parts[0] + "." + "1" + parts[1] + "." + parts[2], key, t0, EFORBIDDEN},
		{"mac changed", flip(tok, len(tok)-3), key, t0, EFORBIDDEN},
		{"empty", "", key, t0, EFORBIDDEN},
		{"two parts", parts[0] + "." + parts[2], key, t0, EFORBIDDEN},
		{"a sign in the time", parts[0] + ".-1." + parts[2], key, t0, EFORBIDDEN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkFormToken(tc.key, tc.tok, tc.at)
			if got := ErrorCode(err); err != nil && got != tc.code || err == nil && tc.code != "" {
				t.Errorf("checkFormToken: %v, want code %q", err, tc.code)
			}
		})
	}
}

func TestCheckWork(t *testing.T) {
	tok := issueFormToken([]byte("k"), time.Now())
	ft, err := parseFormToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	w := SolveWork(tok)
	if !checkWork(ft.Nonce, w) {
		t.Fatalf("SolveWork's %q does not pass", w)
	}
	other, _ := parseFormToken(issueFormToken([]byte("k"), time.Now()))
	for _, bad := range []struct{ nonce, work string }{{ft.Nonce, ""}, {ft.Nonce, "-1"}, {ft.Nonce, " " + w}, {ft.Nonce, "1234567890123"}, {ft.Nonce, "0x1f"}} {
		if checkWork(bad.nonce, bad.work) {
			t.Errorf("checkWork(%q, %q) passed", bad.nonce, bad.work)
		}
	}
	// a work for one nonce is, but for 1 in 65,536 nonces, not one for another
	if checkWork(other.Nonce, w) && checkWork(other.Nonce, "0") {
		t.Errorf("work %q passes for an unrelated nonce", w)
	}
}

// FuzzFormToken: any posted form token either parses into its parts or
// is refused with EFORBIDDEN; checking one never panics and accepts only
// what the key signed; a work string never panics.
func FuzzFormToken(f *testing.F) {
	key := []byte("fuzz key")
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	good := issueFormToken(key, now)
	f.Add(good, "123")
	f.Add("", "")
	f.Add("a.b.c", "x")
	f.Add(strings.Repeat(".", 100), "99999999999999999999")
	f.Add(good[:22]+".99999999999999."+good[len(good)-43:], "0")
	f.Fuzz(func(t *testing.T, tok, work string) {
		ft, err := parseFormToken(tok)
		if err != nil {
			if ErrorCode(err) != EFORBIDDEN {
				t.Fatalf("parse: code %s", ErrorCode(err))
			}
			return
		}
		_ = checkWork(ft.Nonce, work)
		if _, err := checkFormToken(key, tok, now); err == nil && tok != good {
			// another string the key signed would be a forgery
			if formTokenMAC(key, ft.Nonce, ft.Issued) != ft.MAC {
				t.Fatalf("accepted %q", tok)
			}
		}
	})
}

// BenchmarkCheckWork is what the server spends checking a submission's
// proof of work: one hash.
func BenchmarkCheckWork(b *testing.B) {
	tok := issueFormToken([]byte("k"), time.Now())
	ft, _ := parseFormToken(tok)
	w := SolveWork(tok)
	for b.Loop() {
		if !checkWork(ft.Nonce, w) {
			b.Fatal("work refused")
		}
	}
}

// BenchmarkSolveWork is what a client spends finding one (about 2^16
// hashes on average), here in Go; the page's script takes a few times as
// long.
func BenchmarkSolveWork(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		_ = SolveWork(issueFormToken([]byte("k"), now))
	}
}
