package server

import (
	"strings"
	"testing"
)

// TestQRPNG: the QR code of a long address decodes back to it.
func TestQRPNG(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/f/abc", "https://forms.example.com/f/" + strings.Repeat("x", 22)} {
		d, err := qrDataURL(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, d); got != u {
			t.Errorf("the QR code of %q reads %q", u, got)
		}
	}
}

// BenchmarkQRPNG is the cost of drawing a link's QR code (every time its
// page or the API shows it).
func BenchmarkQRPNG(b *testing.B) {
	for b.Loop() {
		if _, err := qrPNG("https://forms.example.com/f/AAAAAAAAAAAAAAAAAAAAAA"); err != nil {
			b.Fatal(err)
		}
	}
}
