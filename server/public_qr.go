package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// qrModule is the size in pixels of one QR module; qrQuiet the light
// margin around the code, in modules, that scanners need (ISO/IEC 18004
// asks for four).
const (
	qrModule = 8
	qrQuiet  = 4
)

// qrPNG draws text as a QR code (error correction M, about 15% of it
// may be damaged or covered) in black on white with its quiet zone, as a
// PNG that prints sharply: every module is a whole number of pixels.
func qrPNG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	n := code.Bounds().Dx()
	side := (n + 2*qrQuiet) * qrModule
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if code.At(x, y) != color.Black {
				continue
			}
			for dy := 0; dy < qrModule; dy++ {
				row := (qrQuiet+y)*qrModule + dy
				off := img.PixOffset((qrQuiet+x)*qrModule, row)
				for dx := 0; dx < qrModule; dx++ {
					img.Pix[off+dx] = 0
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}

// qrDataURL is text's QR code as a data: URL, for an <img> or a JSON answer.
func qrDataURL(text string) (string, error) {
	b, err := qrPNG(text)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}
