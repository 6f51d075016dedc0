package engine

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// webpBytes reads a WebP test image (from golang.org/x/image's testdata).
func webpBytes(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func pngBytes(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG signature and an IHDR chunk claiming w×h pixels,
// with no image data: a decompression bomb's calling card.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestSniffUploadHostile: the type comes from the bytes, never from the
// name or a declared type, and hostile content is refused.
func TestSniffUploadHostile(t *testing.T) {
	good := pngBytes(t, 8, 8)
	zipHead := []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")
	for _, c := range []struct {
		name      string
		data      []byte
		file      string
		imageOnly bool
		want      string // the type, or the error code
	}{
		{"png", good, "a.png", true, "image/png"},
		{"png named .exe", good, "a.exe", true, "image/png"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "a.gif", true, "image/gif"},
		{"webp", webpBytes(t, "pink.webp"), "a.webp", true, "image/webp"},
		{"webp lossless", webpBytes(t, "gopher.webp"), "a.webp", true, "image/webp"},
		{"webp header then zeros", append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8 "), make([]byte, 16)...), "a.webp", true, EUNSUPPORTED},
		{"truncated png", good[:20], "a.png", true, EUNSUPPORTED},
		{"png signature then garbage", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xff}, 64)...), "a.png", true, EUNSUPPORTED},
		{"pixel bomb", pngHeader(100000, 100000), "bomb.png", true, ETOOLARGE},
		{"html as png", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), "x.png", true, EUNSUPPORTED},
		{"html as attachment", []byte("<html><body onload=alert(1)>"), "x.txt", false, EUNSUPPORTED},
		{"svg with xml declaration", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "a.svg", false, EUNSUPPORTED},
		{"script tag", []byte("<script>alert(1)</script>"), "a.txt", false, EUNSUPPORTED},
		{"pdf in an image field", []byte("%PDF-1.7\n"), "a.pdf", true, EUNSUPPORTED},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "a.pdf", false, "application/pdf"},
		{"text", []byte("hello, 你好\n"), "a.txt", false, "text/plain"},
		{"latin-1 text", []byte("caf\xe9 \xe0 la carte\n"), "a.txt", false, EUNSUPPORTED},
		{"docx", zipHead, "offer.DOCX", false, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"plain zip", zipHead, "a.zip", false, EUNSUPPORTED},
		{"zip named .docx.exe", zipHead, "a.docx.exe", false, EUNSUPPORTED},
		{"windows executable", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), "a.pdf", false, EUNSUPPORTED},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00"), "a.txt", false, EUNSUPPORTED},
		{"gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), "a.txt", false, EUNSUPPORTED},
		{"binary zeros", make([]byte, 64), "a.txt", false, EUNSUPPORTED},
	} {
		got, err := SniffUpload(c.data, c.file, c.imageOnly)
		if err != nil {
			got = ErrorCode(err)
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// FuzzSniffUpload: any bytes give an allowed type or a clear refusal,
// never a panic, and an image field never takes a non-image.
func FuzzSniffUpload(f *testing.F) {
	f.Add(pngBytes(f, 3, 2), "a.png", true)
	f.Add(pngHeader(1, 1), "a.png", true)
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "a.gif", false)
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "a.jpg", true)
	f.Add([]byte("%PDF-1.4"), "a.pdf", false)
	f.Add([]byte("PK\x03\x04"), "a.xlsx", false)
	f.Add([]byte("<svg onload=alert(1)>"), "a.svg", false)
	f.Fuzz(func(t *testing.T, data []byte, name string, imageOnly bool) {
		typ, err := SniffUpload(data, name, imageOnly)
		if err != nil {
			if c := ErrorCode(err); c != EUNSUPPORTED && c != ETOOLARGE {
				t.Fatalf("error code %q", c)
			}
			return
		}
		switch {
		case imageTypes[typ]:
		case imageOnly:
			t.Fatalf("image field took %q", typ)
		case attachmentTypes[typ]:
		case strings.HasPrefix(typ, "application/vnd.openxmlformats-officedocument."):
		default:
			t.Fatalf("type %q is not allowed", typ)
		}
		if n := CleanUploadName(name); n == "" || strings.ContainsAny(n, "/\\\x00\n\r") || len([]rune(n)) > 120 {
			t.Fatalf("name %q cleaned to %q", name, n)
		}
	})
}

func TestCleanUploadName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg":                       "photo.jpg",
		`C:\Users\me\Desktop\合同.pdf`:      "合同.pdf",
		"../../etc/passwd":                "passwd",
		"a\x00b\nc.txt":                   "abc.txt",
		"evil\u202egnp.exe":               "evilgnp.exe",
		"":                                "file",
		"..":                              "file",
		"dir/":                            "file",
		"  spaced.txt  ":                  "spaced.txt",
		strings.Repeat("长", 200) + ".png": strings.Repeat("长", 116) + ".png",
	} {
		if got := CleanUploadName(in); got != want {
			t.Errorf("CleanUploadName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBlobRefRoundTrip(t *testing.T) {
	r := BlobRef{ID: "06h0kab31cpa5a0xhmehyf7sk4", Name: "a&b=c?.png", Size: 12345, Type: "image/png"}
	got, ok := ParseBlobRef(r.String())
	if !ok || got != r {
		t.Errorf("round trip: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "blob:", "blob:short", "http://x/y", "blob:06h0kab31cpa5a0xhmehyf7sk!", "blob:06h0kab31cpa5a0xhmehyf7sk4?%zz"} {
		if _, ok := ParseBlobRef(bad); ok {
			t.Errorf("ParseBlobRef(%q) accepted", bad)
		}
	}
}
