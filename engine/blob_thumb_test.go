package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
	"time"
)

// photo is a w×h opaque RGBA image: left half red, right half blue, with
// grain, so that it compresses like a photo.
func photo(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			nz := uint8((uint32(x)*2654435761 ^ uint32(y)*40503) % 24) // grain, as in a photo
			c := color.RGBA{220 + nz, nz, 30 + nz, 255}
			if x >= w/2 {
				c = color.RGBA{30 + nz, 20 + nz, 220 + nz, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation puts an APP1 Exif segment with IFD0 orientation o right
// after a JPEG's SOI marker, in the given byte order ("II" or "MM").
func withOrientation(jpg []byte, o uint16, order string) []byte {
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	tiff := []byte(order)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: a decoy, then orientation
	for _, e := range [][3]uint16{{0x010f, 2, 0}, {0x0112, 3, o}} {
		tiff = bo.AppendUint16(tiff, e[0])
		tiff = bo.AppendUint16(tiff, e[1])
		tiff = bo.AppendUint32(tiff, 1)
		tiff = bo.AppendUint16(tiff, e[2])
		tiff = append(tiff, 0, 0)
	}
	tiff = bo.AppendUint32(tiff, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func decodeThumb(tb testing.TB, th *BlobThumb) image.Image {
	tb.Helper()
	img, format, err := image.Decode(bytes.NewReader(th.Data))
	if err != nil {
		tb.Fatalf("thumbnail does not decode: %v", err)
	}
	if "image/"+format != th.Type {
		tb.Fatalf("thumbnail is %s, labelled %s", format, th.Type)
	}
	if b := img.Bounds(); b.Dx() != th.Width || b.Dy() != th.Height {
		tb.Fatalf("thumbnail is %v, labelled %dx%d", b, th.Width, th.Height)
	}
	return img
}

func near(c color.Color, r, g, b uint8) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(a uint32, want uint8) bool { x := int(a>>8) - int(want); return x > -60 && x < 60 }
	return d(cr, r) && d(cg, g) && d(cb, b)
}

// TestMakeThumbnail: every accepted image kind gives a thumbnail that
// fits 320×320 without distortion, transparency survives as PNG, JPEGs
// are turned upright, and damaged or oversized images are refused with a
// clear code.
func TestMakeThumbnail(t *testing.T) {
	ctx := context.Background()
	transparent := image.NewNRGBA(image.Rect(0, 0, 600, 400))
	transparent.SetNRGBA(10, 10, color.NRGBA{255, 0, 0, 255})
	var gifBuf bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 500, 500), []color.Color{color.Black, color.White})
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	big := encodeJPEG(t, photo(1200, 800))
	for _, c := range []struct {
		name       string
		data       []byte
		w, h       int
		typ        string
		topLeftRed bool // the top-left corner is red, the bottom-right blue
	}{
		{"wide png", encodePNG(t, photo(1200, 800)), 320, 213, "image/jpeg", true},
		{"tall jpeg", encodeJPEG(t, photo(300, 900)), 107, 320, "image/jpeg", true},
		{"small png keeps its size", encodePNG(t, photo(64, 48)), 64, 48, "image/jpeg", true},
		{"transparent png", encodePNG(t, transparent), 320, 213, "image/png", false},
		{"gif (a drawing: PNG is smaller)", gifBuf.Bytes(), 320, 320, "image/png", false},
		{"webp lossy", webpBytes(t, "pink.webp"), 150, 100, "image/jpeg", false},
		{"webp lossless (a drawing)", webpBytes(t, "gopher.webp"), 75, 100, "image/png", false},
		{"jpeg, exif 1", withOrientation(big, 1, "II"), 320, 213, "image/jpeg", true},
		{"jpeg, exif 3 (upside down)", withOrientation(big, 3, "MM"), 320, 213, "image/jpeg", false},
		{"jpeg, exif 6 (turn clockwise)", withOrientation(big, 6, "II"), 213, 320, "image/jpeg", false},
		{"jpeg, exif 8 (turn anticlockwise)", withOrientation(big, 8, "MM"), 213, 320, "image/jpeg", false},
	} {
		th, err := MakeThumbnail(ctx, c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		img := decodeThumb(t, th)
		if th.Width != c.w || th.Height != c.h || th.Type != c.typ {
			t.Errorf("%s: %dx%d %s, want %dx%d %s", c.name, th.Width, th.Height, th.Type, c.w, c.h, c.typ)
		}
		if c.topLeftRed && (!near(img.At(2, 2), 220, 0, 30) || !near(img.At(th.Width-3, th.Height-3), 30, 20, 220)) {
			t.Errorf("%s: corners %v %v", c.name, img.At(2, 2), img.At(th.Width-3, th.Height-3))
		}
		if c.typ == "image/png" && c.name == "transparent png" {
			if _, _, _, a := img.At(300, 200).RGBA(); a != 0 {
				t.Errorf("transparency lost: alpha %d", a)
			}
		}
	}
	// orientation: 6 shows the stored left edge (red) at the top, 3 the
	// stored right edge (blue) at the left, 8 the stored right edge at the top
	for _, c := range []struct {
		o           uint16
		top, bottom [3]uint8
	}{{6, [3]uint8{220, 0, 30}, [3]uint8{30, 20, 220}}, {8, [3]uint8{30, 20, 220}, [3]uint8{220, 0, 30}}} {
		th, err := MakeThumbnail(ctx, withOrientation(big, c.o, "II"))
		if err != nil {
			t.Fatal(err)
		}
		img := decodeThumb(t, th)
		if tp, bt := img.At(th.Width/2, 3), img.At(th.Width/2, th.Height-4); !near(tp, c.top[0], c.top[1], c.top[2]) || !near(bt, c.bottom[0], c.bottom[1], c.bottom[2]) {
			t.Errorf("orientation %d: top %v bottom %v", c.o, tp, bt)
		}
	}
	th, _ := MakeThumbnail(ctx, withOrientation(big, 3, "II"))
	if img := decodeThumb(t, th); !near(img.At(3, th.Height/2), 30, 20, 220) {
		t.Errorf("orientation 3: left edge %v, want blue", img.At(3, th.Height/2))
	}

	good := encodePNG(t, photo(200, 100))
	truncated := good[:len(good)-40] // header fine, pixels cut off
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"truncated png", EUNSUPPORTED, truncated},
		{"jpeg header only", EUNSUPPORTED, big[:600]},
		{"pixel bomb", ETOOLARGE, pngHeader(100000, 100000)},
		{"garbage", EUNSUPPORTED, bytes.Repeat([]byte{0x42}, 100)},
		{"empty", EUNSUPPORTED, nil},
		{"webp header then zeros", EUNSUPPORTED, append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8 "), make([]byte, 16)...)},
	} {
		if _, err := MakeThumbnail(ctx, c.data); ErrorCode(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	base := encodeJPEG(t, photo(8, 8))
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{
		{"none", base, 1},
		{"II 6", withOrientation(base, 6, "II"), 6},
		{"MM 8", withOrientation(base, 8, "MM"), 8},
		{"out of range", withOrientation(base, 9, "II"), 1},
		{"not a jpeg", []byte("GIF89a"), 1},
		{"cut segment", withOrientation(base, 6, "II")[:20], 1},
	} {
		if got := jpegOrientation(c.data); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// FuzzMakeThumbnail: any bytes give a thumbnail within 320×320 that
// decodes, or EUNSUPPORTED/ETOOLARGE; never a panic, never a bitmap past
// the pixel cap.
func FuzzMakeThumbnail(f *testing.F) {
	f.Add(encodePNG(f, photo(30, 20)))
	f.Add(withOrientation(encodeJPEG(f, photo(24, 16)), 6, "MM"))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	f.Add(webpBytes(f, "gopher.webp"))
	f.Add(webpBytes(f, "pink.webp"))
	f.Add(pngHeader(1, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = jpegOrientation(data)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		th, err := MakeThumbnail(ctx, data)
		if err != nil {
			if c := ErrorCode(err); c != EUNSUPPORTED && c != ETOOLARGE {
				t.Fatalf("error %v", err)
			}
			return
		}
		if th.Width < 1 || th.Height < 1 || th.Width > ThumbSize || th.Height > ThumbSize {
			t.Fatalf("thumbnail %dx%d", th.Width, th.Height)
		}
		decodeThumb(t, th)
	})
}

// BenchmarkMakeThumbnail12MP: a 12-megapixel (4000×3000) camera JPEG to
// its thumbnail, the work an upload of a phone photo adds.
func BenchmarkMakeThumbnail12MP(b *testing.B) {
	data := encodeJPEG(b, photo(4000, 3000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var th *BlobThumb
	cpu0 := cpuTime() // rule_bench_test.go
	for b.Loop() {
		var err error
		if th, err = MakeThumbnail(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
	// the machine may be shared: CPU time per thumbnail is the figure to compare
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(len(data)), "orig-bytes")
	b.ReportMetric(float64(len(th.Data)), "thumb-bytes")
}
