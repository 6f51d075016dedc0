package backup

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/hkdf"
)

// The file format: a header (magic, version, random salt), then chunks of
// at most chunkSize plaintext bytes each sealed with AES-256-GCM (a 4-byte
// length, then the ciphertext), then a SHA-256 of everything before it.
// The file key is derived from the backup key and the salt, so counter
// nonces never repeat across files; the nonce marks the last chunk, so a
// file cut at a chunk boundary is refused too.
const (
	magic     = "FORMWORK-BACKUP\n"
	version   = 1
	saltSize  = 32
	chunkSize = 1 << 20
	headerLen = len(magic) + 1 + saltSize
	sumLen    = sha256.Size
)

// KeySize is the size of a backup key in bytes.
const KeySize = 32

// ErrCorrupt is returned, wrapped, for a backup that is damaged, cut short
// or sealed under another key.
var ErrCorrupt = errors.New("backup is corrupted or truncated")

func fileAEAD(key, salt []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("backup key must be %d bytes, got %d", KeySize, len(key))
	}
	fk := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, key, salt, []byte("formwork backup file key")), fk); err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(fk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func nonce(i uint64, last bool) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n, i)
	if last {
		n[11] = 1
	}
	return n
}

// seal encrypts the file at src into w.
func seal(w io.Writer, key []byte, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	a, err := fileAEAD(key, salt)
	if err != nil {
		return err
	}
	sum := sha256.New()
	out := io.MultiWriter(w, sum)
	header := append(append([]byte(magic), version), salt...)
	if _, err := out.Write(header); err != nil {
		return err
	}
	r := bufio.NewReaderSize(in, chunkSize)
	buf := make([]byte, chunkSize)
	var ct []byte
	for i := uint64(0); ; i++ {
		n, err := io.ReadFull(r, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		_, perr := r.Peek(1)
		last := n < chunkSize || perr == io.EOF
		ct = a.Seal(ct[:0], nonce(i, last), buf[:n], header)
		if _, err := out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ct)))); err != nil {
			return err
		}
		if _, err := out.Write(ct); err != nil {
			return err
		}
		if last {
			break
		}
	}
	_, err = w.Write(sum.Sum(nil))
	return err
}

// checksum checks the trailing SHA-256 of f and returns the size of what
// it covers, leaving f at its start.
func checksum(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() < int64(headerLen+sumLen) {
		return 0, fmt.Errorf("%w: %d bytes is shorter than any backup", ErrCorrupt, st.Size())
	}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != magic {
		return 0, fmt.Errorf("%w: not a Formwork backup (bad magic)", ErrCorrupt)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	h := sha256.New()
	body := st.Size() - sumLen
	if _, err := io.CopyN(h, f, body); err != nil {
		return 0, err
	}
	want := make([]byte, sumLen)
	if _, err := io.ReadFull(f, want); err != nil {
		return 0, err
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	_, err = f.Seek(0, io.SeekStart)
	return body, err
}

// open checks and decrypts the file at path into w.
func open(w io.Writer, key []byte, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	body, err := checksum(f)
	if err != nil {
		return err
	}
	r := bufio.NewReader(io.LimitReader(f, body))
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(r, header); err != nil {
		return fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if header[len(magic)] != version {
		return fmt.Errorf("backup format version %d is not supported (this binary reads %d)", header[len(magic)], version)
	}
	a, err := fileAEAD(key, header[len(magic)+1:])
	if err != nil {
		return err
	}
	var ct, pt []byte
	lenBuf := make([]byte, 4)
	for i := uint64(0); ; i++ {
		if _, err := io.ReadFull(r, lenBuf); err != nil {
			return fmt.Errorf("%w: chunk %d: %v", ErrCorrupt, i, err)
		}
		n := binary.BigEndian.Uint32(lenBuf)
		if n > chunkSize+uint32(a.Overhead()) {
			return fmt.Errorf("%w: chunk %d has a bad length", ErrCorrupt, i)
		}
		ct = append(ct[:0], make([]byte, n)...)
		if _, err := io.ReadFull(r, ct); err != nil {
			return fmt.Errorf("%w: chunk %d: %v", ErrCorrupt, i, err)
		}
		_, perr := r.Peek(1)
		last := perr == io.EOF
		pt, err = a.Open(pt[:0], nonce(i, last), ct, header)
		if err != nil {
			return fmt.Errorf("%w: chunk %d does not decrypt (wrong backup key, or the file was altered)", ErrCorrupt, i)
		}
		if _, err := w.Write(pt); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
