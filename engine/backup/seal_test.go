package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func sealBytes(tb testing.TB, key, plain []byte) []byte {
	tb.Helper()
	src := filepath.Join(tb.TempDir(), "plain")
	if err := os.WriteFile(src, plain, 0o600); err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	if err := seal(&out, key, src); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func openBytes(tb testing.TB, key, sealed []byte) ([]byte, error) {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "sealed")
	if err := os.WriteFile(p, sealed, 0o600); err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	err := open(&out, key, p)
	return out.Bytes(), err
}

func TestSealRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + 5} {
		plain := bytes.Repeat([]byte("formwork "), n/9+1)[:n]
		got, err := openBytes(t, key, sealBytes(t, key, plain))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: %d bytes back, %v", n, len(got), err)
		}
	}
}

// TestSealRefusesDamage flips every byte of a small sealed file and cuts it
// at every length: each is refused as ErrCorrupt, and so is another key.
func TestSealRefusesDamage(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	sealed := sealBytes(t, key, []byte("a secret customer list"))
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 0x80
		if _, err := openBytes(t, key, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := 0; n < len(sealed); n++ {
		if _, err := openBytes(t, key, sealed[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	if _, err := openBytes(t, bytes.Repeat([]byte{8}, KeySize), sealed); !errors.Is(err, ErrCorrupt) {
		t.Errorf("another key: %v", err)
	}
}

// FuzzOpen: no input makes open panic or yield what this key never sealed.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	f.Add(sealBytes(f, key, []byte("seed")))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		// only "seed" was ever sealed under this key (the salt differs per run)
		if got, err := openBytes(t, key, b); err == nil && string(got) != "seed" {
			t.Errorf("opened %d bytes this key did not seal", len(b))
		}
	})
}
