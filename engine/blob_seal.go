package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Uploads to sensitive fields, sealed.
//
// An ID-card or licence photo is as sensitive as the number printed on it,
// so an upload to a field with x-sensitive is stored like the record's
// sensitive values when the store has keys: each chunk sealed under the
// app's data key (AES-256-GCM through Keyring.Seal, as export files are),
// bound by its additional data to the upload and the chunk's place in it,
// so chunks cannot be swapped or reordered unnoticed. The thumbnail is
// sealed the same way. Such chunks are not shared between uploads: their
// ids derive from the upload's id, not from the content, and the upload's
// SHA-256 is kept only sealed, since either would let someone holding the
// raw store confirm a guess of a photo.

// blobAAD is the additional data binding a sealed part of an upload.
func blobAAD(b *BlobInfo, part string) string { return "blob/" + b.ID + "/" + part }

// blobChunkID is the id of the n-th chunk of an upload: the SHA-256 of its
// bytes (shared by equal content), or for a sealed upload of its place.
func blobChunkID(b *BlobInfo, n int, part []byte) string {
	if b.Sealed {
		part = []byte(blobAAD(b, strconv.Itoa(n)))
	}
	sum := sha256.Sum256(part)
	return hex.EncodeToString(sum[:])
}

// sealBlobInfo marks a new upload sealed and seals its hash.
func (s *Service) sealBlobInfo(ctx context.Context, b *BlobInfo) error {
	sealed, err := s.keys.Seal(ctx, b.App, blobAAD(b, "sha256"), []byte(b.SHA256))
	if err != nil {
		return fmt.Errorf("upload %s: %w", b.ID, err)
	}
	b.Sealed, b.SealedSHA = true, sealed
	return nil
}

// openBlobInfo opens the hash of a sealed upload read from the store.
func (s *Service) openBlobInfo(ctx context.Context, b *BlobInfo) error {
	if !b.Sealed {
		return nil
	}
	if s.keys == nil {
		return fmt.Errorf("upload %s is sealed and this store holds no keys", b.ID)
	}
	sum, err := s.keys.Open(ctx, b.App, blobAAD(b, "sha256"), b.SealedSHA)
	if err != nil {
		return fmt.Errorf("upload %s: %w", b.ID, err)
	}
	b.SHA256 = string(sum)
	return nil
}

// sealBlobChunk returns the stored bytes of the n-th chunk of b.
func (s *Service) sealBlobChunk(ctx context.Context, b *BlobInfo, n int, part []byte) ([]byte, error) {
	if !b.Sealed {
		return part, nil
	}
	sealed, err := s.keys.Seal(ctx, b.App, blobAAD(b, strconv.Itoa(n)), part)
	if err != nil {
		return nil, fmt.Errorf("upload %s chunk %d: %w", b.ID, n, err)
	}
	return []byte(sealed), nil
}

// openBlobChunk returns the bytes of the n-th chunk of b as stored.
func (s *Service) openBlobChunk(ctx context.Context, b *BlobInfo, n int, stored []byte) ([]byte, error) {
	if !b.Sealed {
		return stored, nil
	}
	part, err := s.keys.Open(ctx, b.App, blobAAD(b, strconv.Itoa(n)), string(stored))
	if err != nil {
		return nil, fmt.Errorf("upload %s chunk %d: %w", b.ID, n, err)
	}
	return part, nil
}
