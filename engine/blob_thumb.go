package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers WebP with image.Decode/DecodeConfig
)

// Thumbnails of uploaded images.
//
// Pages show images small (see web's .thumb), so they load a thumbnail
// instead of the whole upload: at most ThumbSize pixels on each side, PNG
// for images with transparency, else the smaller of JPEG and PNG, made from the
// decoded upload with a Catmull-Rom filter (golang.org/x/image/draw) and
// turned upright by the JPEG's EXIF orientation. PutBlob makes it while it
// still holds the bytes, so every image it takes decodes in full (a damaged
// one is refused at upload, not discovered on a page); uploads stored
// before thumbnails existed get theirs on the first request
// (OpenBlobThumb), stored like any other. A thumbnail is a doc of kind
// KindBlobThumb under the upload's id and goes when the upload goes.
//
// Decoding is bounded: the pixel count is read from the header and checked
// against the 40-megapixel cap before any pixel is decoded, and at most
// GOMAXPROCS decodes run at once, so a burst of large uploads waits for a
// slot instead of holding many full-size bitmaps in memory together.

// KindBlobThumb is the doc kind of an upload's thumbnail.
const KindBlobThumb = "blob_thumb"

// ThumbSize is the largest side of a thumbnail, in pixels.
const ThumbSize = 320

const thumbJPEGQuality = 82

// BlobThumb is a thumbnail as stored and served.
type BlobThumb struct {
	Type   string `json:"type"` // image/jpeg or image/png
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Data   []byte `json:"data"`
	SHA256 string `json:"sha256,omitempty"` // of the upload it was made from
}

// thumbSlots bounds the decodes running at once: a process-wide cap,
// because the memory at stake (a 40 MP image decoded) belongs to the
// process, however many services share it.
var thumbSlots = NewSlots(runtime.GOMAXPROCS(0))

// errBadImage is what a caller learns about bytes that do not decode.
func errBadImage() error {
	return Errorf(EUNSUPPORTED, T("图片已损坏或无法识别", "the image is damaged or not recognised"))
}

// MakeThumbnail decodes an uploaded image (PNG, JPEG, GIF's first frame,
// WebP) and returns it scaled to fit ThumbSize×ThumbSize (never enlarged),
// upright. EUNSUPPORTED when the bytes are not such an image or do not
// decode, ETOOLARGE past the pixel cap; it never panics on any input.
func MakeThumbnail(ctx context.Context, data []byte) (*BlobThumb, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || !thumbFormats[format] || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errBadImage()
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixel {
		return nil, Errorf(ETOOLARGE, T("图片像素过多（上限 4000 万像素）", "the image has too many pixels (at most 40 megapixels)"))
	}
	release, err := thumbSlots.Take(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	src, err := decodeImage(data)
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > maxImagePixel {
		return nil, errBadImage()
	}
	tw, th := fitIn(b.Dx(), b.Dy(), ThumbSize)
	if k := min(b.Dx()/(2*tw), b.Dy()/(2*th)); k >= 2 {
		// Catmull-Rom's cost grows with the source: first average k×k
		// blocks down to at least twice the thumbnail, which also keeps
		// every source pixel in the result (no aliasing)
		src = shrink(src, k)
		b = src.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	src = nil // the full-size bitmap may go before the encode
	if format == "jpeg" {
		dst = orient(dst, jpegOrientation(data))
	}
	var out bytes.Buffer
	t := &BlobThumb{Width: dst.Bounds().Dx(), Height: dst.Bounds().Dy()}
	// PNG keeps transparency, and is also the smaller (and sharper) for
	// drawings and screenshots; photos go as JPEG
	if err := png.Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	t.Type, t.Data = "image/png", out.Bytes()
	if dst.Opaque() {
		var j bytes.Buffer
		if err := jpeg.Encode(&j, dst, &jpeg.Options{Quality: thumbJPEGQuality}); err != nil {
			return nil, fmt.Errorf("encode thumbnail: %w", err)
		}
		if j.Len() < out.Len() {
			t.Type, t.Data = "image/jpeg", j.Bytes()
		}
	}
	return t, nil
}

var thumbFormats = map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true}

// decodeImage decodes the whole image; a decoder's panic on hostile input
// (none is known, but the bytes are anyone's) is an EUNSUPPORTED, not a
// crash of the process.
func decodeImage(data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, errBadImage()
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errBadImage()
	}
	return img, nil
}

// shrink reduces an image by the integer factor k with a box filter: each
// pixel of the result is the mean of a k×k block (premultiplied colour; a
// remainder of less than k pixels at the right and bottom is dropped).
// Decoded photos (YCbCr) are averaged on their planes, without a colour
// conversion per source pixel.
func shrink(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	n := uint32(k * k)
	put := func(ox, oy int, r, g, bl, a uint32) {
		i := dst.PixOffset(ox, oy)
		dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r), uint8(g), uint8(bl), uint8(a)
	}
	if s, ok := src.(*image.YCbCr); ok {
		for oy := 0; oy < h; oy++ {
			y0 := b.Min.Y + oy*k
			for ox := 0; ox < w; ox++ {
				x0 := b.Min.X + ox*k
				var sy, scb, scr, nc uint32
				for y := y0; y < y0+k; y++ {
					yi := s.YOffset(x0, y)
					for _, v := range s.Y[yi : yi+k] {
						sy += uint32(v)
					}
					// a row's chroma samples under the block are contiguous
					c0, c1 := s.COffset(x0, y), s.COffset(x0+k-1, y)
					for ci := c0; ci <= c1; ci++ {
						scb += uint32(s.Cb[ci])
						scr += uint32(s.Cr[ci])
					}
					nc += uint32(c1 - c0 + 1)
				}
				r, g, bl := color.YCbCrToRGB(uint8((sy+n/2)/n), uint8((scb+nc/2)/nc), uint8((scr+nc/2)/nc))
				put(ox, oy, uint32(r), uint32(g), uint32(bl), 255)
			}
		}
		return dst
	}
	at := func(x, y int) (r, g, b, a uint32) { return src.At(x, y).RGBA() }
	if s, ok := src.(image.RGBA64Image); ok {
		at = func(x, y int) (r, g, b, a uint32) {
			c := s.RGBA64At(x, y)
			return uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)
		}
	}
	for oy := 0; oy < h; oy++ {
		y0 := b.Min.Y + oy*k
		for ox := 0; ox < w; ox++ {
			x0 := b.Min.X + ox*k
			var sr, sg, sb, sa uint32
			for y := y0; y < y0+k; y++ {
				for x := x0; x < x0+k; x++ {
					r, g, bl, a := at(x, y)
					sr, sg, sb, sa = sr+r>>8, sg+g>>8, sb+bl>>8, sa+a>>8
				}
			}
			put(ox, oy, (sr+n/2)/n, (sg+n/2)/n, (sb+n/2)/n, (sa+n/2)/n)
		}
	}
	return dst
}

// fitIn scales w×h down to fit side×side, keeping the aspect ratio (at
// least one pixel each way); smaller images keep their size.
func fitIn(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int((int64(h)*int64(side)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(side)+int64(h)/2)/int64(h))), side
}

// jpegOrientation reads the EXIF orientation (1–8) of a JPEG; 1 when
// there is none or it cannot be read. It walks the marker segments up to
// the image data and reads IFD0 of an APP1 "Exif" segment.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return 1
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return 1
		}
		marker := data[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xe1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return exifOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// exifOrientation reads tag 0x0112 of IFD0 in a TIFF structure.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient turns an image by an EXIF orientation (2–8; 1 is upright).
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // rotated 180°
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // rotated 90° clockwise to show
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // rotated 90° anticlockwise to show
				dx, dy = y, w-1-x
			}
			si, di := src.PixOffset(x, y), dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// findThumb returns the stored thumbnail of an upload, opened when the
// upload is sealed.
func (s *Service) findThumb(ctx context.Context, b *BlobInfo) (*BlobThumb, error) {
	d, err := s.store.FindDoc(ctx, KindBlobThumb, b.ID)
	if err != nil {
		return nil, err
	}
	var t BlobThumb
	if err := DecodeDoc(d, &t); err != nil {
		return nil, err
	}
	if b.Sealed {
		if t.Data, err = s.keys.Open(ctx, b.App, blobAAD(b, "thumb"), string(t.Data)); err != nil {
			return nil, fmt.Errorf("thumbnail of %s: %w", b.ID, err)
		}
		t.SHA256 = b.SHA256
	}
	return &t, nil
}

// thumbDoc is the write of an upload's thumbnail: sealed, and without the
// upload's hash, when the upload is.
func (s *Service) thumbDoc(ctx context.Context, b *BlobInfo, t *BlobThumb) (DocWrite, error) {
	stored := *t
	stored.SHA256 = b.SHA256
	if b.Sealed {
		sealed, err := s.keys.Seal(ctx, b.App, blobAAD(b, "thumb"), t.Data)
		if err != nil {
			return DocWrite{}, fmt.Errorf("thumbnail of %s: %w", b.ID, err)
		}
		stored.Data, stored.SHA256 = []byte(sealed), ""
	}
	return DocWrite{Doc: Doc{Kind: KindBlobThumb, ID: b.ID, Value: MustJSON(&stored)}, ExpectVersion: AnyVersion}, nil
}

// OpenBlobThumb returns the thumbnail of an image held by a field of a
// record, with the same checks and audit as OpenBlob (ENOTFOUND out of
// scope or hidden, EFORBIDDEN masked). EUNSUPPORTED when the upload is not
// an image or, for an upload older than thumbnails, does not decode; the
// thumbnail made then is stored for the next request.
func (s *Service) OpenBlobThumb(ctx context.Context, p *Principal, app, form, id, blobID string) (*BlobInfo, *BlobThumb, error) {
	b, field, err := s.blobOfRecord(ctx, p, app, form, id, blobID)
	if err != nil {
		return nil, nil, err
	}
	if !b.IsImage() {
		return nil, nil, Errorf(EUNSUPPORTED, T("该文件不是图片，没有缩略图", "the file is not an image and has no thumbnail"))
	}
	t, err := s.findThumb(ctx, b)
	if ErrorCode(err) == ENOTFOUND {
		var data []byte
		if data, err = s.readBlob(ctx, b); err != nil {
			return nil, nil, err
		}
		if t, err = MakeThumbnail(ctx, data); err != nil {
			return nil, nil, err
		}
		var w DocWrite
		if w, err = s.thumbDoc(ctx, b, t); err == nil {
			_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{w}})
		}
		t.SHA256 = b.SHA256
	}
	if err != nil {
		return nil, nil, err
	}
	ev := s.Event(p, "file.download", app, b.Form, id, []string{field}, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"blob": b.ID, "thumbnail": true})
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, nil, err
	}
	return b, t, nil
}
