package server

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"formwork/engine"
)

// TestUploadThumbnails: an uploaded photo is served small through
// ?thumb=1 with the same permission checks as the file itself, cached
// privately and revalidated by ETag; a damaged image is refused at upload
// with a readable problem; a file that is not an image has no thumbnail.
func TestUploadThumbnails(t *testing.T) {
	h := docsHarness(t)
	pic := grainyPNG(t, 1200, 900)

	// the PNG header is fine but the pixel data is cut: refused, clearly
	rec := h.upload("clerk", "docs", "claim", "photos", "cut.png", "image/png", pic[:len(pic)/2])
	problemOf(t, "damaged image", rec, http.StatusUnsupportedMediaType)
	mustContain(t, "damaged image", rec.Body.String(), "damaged")

	photo := uploadValue(t, h.upload("clerk", "docs", "claim", "photos", "site.png", "image/png", pic))
	note := uploadValue(t, h.upload("clerk", "docs", "claim", "files", "note.txt", "text/plain", []byte("plain words\n")))
	rec = h.do("POST", "/api/v1/apps/docs/forms/claim/records", "clerk", `{"data":{"title":"Site visit","photos":["`+photo+`"],"files":["`+note+`"]}}`, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	var created engine.RecordView
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	ref, _ := engine.ParseBlobRef(photo)
	nref, _ := engine.ParseBlobRef(note)
	base := "/api/v1/apps/docs/forms/claim/records/" + created.ID + "/files/"
	thumb := base + ref.ID + "?thumb=1"

	rec = h.do("GET", thumb, "clerk", "", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	img, format, err := image.Decode(bytes.NewReader(rec.Body.Bytes()))
	if err != nil || format != "jpeg" || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
		t.Fatalf("thumbnail image: %v %s %v", err, format, img.Bounds())
	}
	if rec.Body.Len()*4 > len(pic) {
		t.Errorf("thumbnail %d bytes for a %d-byte original", rec.Body.Len(), len(pic))
	}
	hd := rec.Header()
	etag := hd.Get("ETag")
	if !strings.HasPrefix(hd.Get("Cache-Control"), "private") || etag == "" || !strings.HasPrefix(hd.Get("Content-Disposition"), "inline") ||
		!strings.Contains(hd.Get("Content-Security-Policy"), "sandbox") || hd.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("thumbnail headers: %v", hd)
	}
	if rec := h.do("GET", thumb, "clerk", "", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("revalidation: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := h.do("GET", thumb, "clerk", "", map[string]string{"If-None-Match": `"other"`}); rec.Code != http.StatusOK {
		t.Errorf("stale ETag: %d", rec.Code)
	}

	h.run(t, []scenario{
		{name: "another clerk: out of scope", method: "GET", path: thumb, user: "clerk2", status: 404, not: []string{"JFIF"}},
		{name: "auditor: photos masked", method: "GET", path: thumb, user: "auditor", status: 404, not: []string{"JFIF"}},
		{name: "auditor with a matching ETag still refused", method: "GET", path: thumb, user: "auditor", status: 404,
			headers: map[string]string{"If-None-Match": etag}},
		{name: "nobody", method: "GET", path: thumb, user: "nobody", status: 404},
		{name: "anonymous", method: "GET", path: thumb, status: 401},
		{name: "text file has no thumbnail", method: "GET", path: base + nref.ID + "?thumb=1", user: "clerk", status: 415, want: []string{"not an image"}},
	}, nil)
}

// grainyPNG is a w×h PNG with noise in it, which compresses like a photo.
func grainyPNG(t *testing.T, w, hgt int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for i := range img.Pix {
		img.Pix[i] = uint8(uint32(i)*2654435761>>13) | 0x0f
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
