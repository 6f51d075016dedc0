package servicetest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"formwork/engine"
)

// TestSensitiveUploadsSealed: files uploaded to a sensitive field (an
// ID-card photo, an ID-card scan: single-file fields, as a sensitive field
// holds a string) are stored sealed under the app's data
// key — chunks, thumbnail and hash — and read back whole; a scan of the
// raw store (its docs and, on SQLite, its files) finds none of their
// bytes, while an upload to an ordinary field is found, which shows the
// scan would see them. On MongoDB when FORMWORK_MONGO_URI is set.
func TestSensitiveUploadsSealed(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			f := newAccessFixture(t, fixtureOptions{Bundle: "orders.json", Units: shopUnits, Encrypt: true, Mongo: backend == "mongo",
				Users: []fixtureUser{{Name: "clerk1", Unit: "store1", Roles: []string{"clerk"}}, {Name: "viewer", Unit: "hq", Roles: []string{"viewer"}}}})
			testSensitiveUploadsSealed(t, f)
		})
	}
}

func testSensitiveUploadsSealed(t *testing.T, f *accessFixture) {
	ctx := context.Background()
	clerk := f.users["clerk1"]
	photo := blobPNG(t, 7)
	scan := []byte(strings.Repeat("居民身份证 公民身份号码 110101199003071234 住址 北京市东城区 ", 40))
	receipt := []byte(strings.Repeat("RECEIPT-PLAIN-MARKER 小票 合计 128.00 元 ", 40))
	put := func(field, name string, data []byte) *engine.BlobInfo {
		t.Helper()
		b, err := f.svc.PutBlob(ctx, clerk, f.app, "order", field, name, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("upload %s: %v", field, err)
		}
		return b
	}
	back := blobPNG(t, 99)
	bp, bs, br := put("id_photo", "id.png", photo), put("id_scan", "id.txt", scan), put("receipt", "r.txt", receipt)
	bf, bb := put("id_sides", "front.png", photo), put("id_sides", "back.png", back)
	if !bp.Sealed || !bs.Sealed || br.Sealed || !bf.Sealed || !bb.Sealed {
		t.Errorf("sealed: photo %v, scan %v, receipt %v, sides %v %v; want all but the receipt", bp.Sealed, bs.Sealed, br.Sealed, bf.Sealed, bb.Sealed)
	}
	rec, err := f.svc.CreateRecord(ctx, clerk, f.app, "order", map[string]any{"store": "store1",
		"id_photo": bp.Ref(), "id_scan": bs.Ref(), "id_sides": []any{bf.Ref(), bb.Ref()}, "receipt": []any{br.Ref()}})
	if err != nil {
		t.Fatal(err)
	}
	// a role that sees the ID fields masked gets neither their references nor their files
	viewer := f.users["viewer"]
	seen, err := f.svc.GetRecord(ctx, viewer, f.app, "order", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id_photo", "id_scan", "id_sides"} {
		if v := fmt.Sprint(seen.Data[k]); strings.Contains(v, "blob:") {
			t.Errorf("masked %s shows %s", k, v)
		}
	}
	for _, b := range []*engine.BlobInfo{bp, bs, bf, bb} {
		if _, _, err := f.svc.OpenBlob(ctx, viewer, f.app, "order", rec.ID, b.ID); engine.ErrorCode(err) != engine.EFORBIDDEN {
			t.Errorf("masked %s opened: %v, want forbidden", b.Field, err)
		}
	}

	// read back whole, thumbnail included
	for _, c := range []struct {
		b    *engine.BlobInfo
		want []byte
	}{{bp, photo}, {bs, scan}, {br, receipt}, {bf, photo}, {bb, back}} {
		info, got, err := f.svc.OpenBlob(ctx, clerk, f.app, "order", rec.ID, c.b.ID)
		if err != nil || !bytes.Equal(got, c.want) || info.SHA256 != c.b.SHA256 {
			t.Errorf("read back %s: %d bytes, sha %s, %v", c.b.Field, len(got), info.SHA256, err)
		}
	}
	_, thumb, err := f.svc.OpenBlobThumb(ctx, clerk, f.app, "order", rec.ID, bp.ID)
	if err != nil || !bytes.HasPrefix(thumb.Data, []byte("\x89PNG")) && !bytes.HasPrefix(thumb.Data, []byte("\xff\xd8")) {
		t.Fatalf("thumbnail of the sealed photo: %v", err)
	}

	// what would betray a file in the raw store: runs of its bytes, as
	// stored or base64-encoded (chunks are JSON), and its SHA-256
	needles := func(data []byte, sha string) [][]byte {
		var out [][]byte
		for off := 0; off < len(data); off += engine.BlobChunkSize {
			part := data[off:min(off+engine.BlobChunkSize, len(data))]
			n := min(48, len(part)/3*3)
			out = append(out, part[len(part)/2:len(part)/2+n/2], []byte(base64.StdEncoding.EncodeToString(part[:n])))
		}
		if sha != "" {
			out = append(out, []byte(sha))
		}
		return out
	}
	raw := rawStore(t, f)
	for _, c := range []struct {
		name   string
		data   []byte
		sha    string
		sealed bool
	}{{"ID photo", photo, bp.SHA256, true}, {"ID scan", scan, bs.SHA256, true}, {"photo thumbnail", thumb.Data, "", true},
		{"ID card's back", back, bb.SHA256, true}, {"receipt", receipt, br.SHA256, false}} {
		found := 0
		for _, n := range needles(c.data, c.sha) {
			for _, r := range raw {
				if bytes.Contains(r, n) {
					found++
					break
				}
			}
		}
		if c.sealed && found > 0 {
			t.Errorf("%s: %d of its marks found in the raw store", c.name, found)
		}
		if !c.sealed && found == 0 {
			t.Errorf("%s (not sensitive): not found in the raw store; the scan sees nothing", c.name)
		}
	}
}

// rawStore returns what the store under the encrypting one holds of
// uploads — every chunk, blob and thumbnail doc as stored — and on SQLite
// the bytes of its files too.
func rawStore(tb testing.TB, f *accessFixture) [][]byte {
	tb.Helper()
	ctx := context.Background()
	var out [][]byte
	for _, kind := range []string{engine.KindBlobChunk, engine.KindBlob, engine.KindBlobThumb} {
		docs, err := f.base.FindDocs(ctx, engine.DocQuery{Kind: kind, Limit: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range docs {
			out = append(out, d.Value)
			var c struct {
				Data []byte `json:"data"`
			}
			if json.Unmarshal(d.Value, &c) == nil && len(c.Data) > 0 {
				out = append(out, c.Data) // decoded from base64
			}
		}
	}
	if f.raw != nil {
		files, _ := filepath.Glob(filepath.Join(f.dir, "formwork.db*"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}
