// Package totp makes the time-based one-time passwords of two-factor
// logins with github.com/pquerna/otp: secrets, otpauth:// URLs, codes and
// the QR code an authenticator app scans. It implements engine.TOTP, so
// the engine itself links no OTP or barcode library; cmd/formwork wires it
// into the Service.
package totp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"formwork/engine"
)

// QRSize is the width and height, in pixels, of the QR code image.
const QRSize = 256

// TOTP is the engine.TOTP of authenticator apps: six digits, 30-second
// steps, HMAC-SHA-1, 160-bit secrets from crypto/rand.
type TOTP struct{}

var _ engine.TOTP = TOTP{}

// New returns the TOTP maker.
func New() TOTP { return TOTP{} }

// Generate returns a fresh secret (base32) for account at issuer and its otpauth:// URL.
func (TOTP) Generate(issuer, account string) (secret, url string, err error) {
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{Issuer: issuer, AccountName: account, Rand: rand.Reader})
	if err != nil {
		return "", "", fmt.Errorf("totp: generate: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// Code returns the six-digit code of secret at t.
func (TOTP) Code(secret string, t time.Time) (string, error) {
	c, err := pqtotp.GenerateCodeCustom(secret, t, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("totp: code: %w", err)
	}
	return c, nil
}

// QRPNG draws an otpauth:// URL as a QR code, a QRSize×QRSize PNG image.
func (TOTP) QRPNG(url string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("totp: qr: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return nil, fmt.Errorf("totp: qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: qr: %w", err)
	}
	return buf.Bytes(), nil
}
