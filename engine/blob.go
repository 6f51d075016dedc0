package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	_ "image/gif" // DecodeConfig checks uploaded GIFs (and WebP, see blob_thumb.go)
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Uploads for attachment and image fields.
//
// Where the bytes live: in the store, as docs, not in a data directory.
// Several web nodes share one store (sessions live there for the same
// reason), so an upload taken by one node can be downloaded from any
// other; a backup of the store is a backup of the files; and the blob's
// metadata and its claim by a record are written in the same atomic Apply
// as the record. The content is cut into chunks of BlobChunkSize whose doc
// IDs are their SHA-256, so equal content is stored once and a chunk's
// integrity is checked on every read; the blob doc names its chunks and
// the SHA-256 of the whole.
//
// What a field holds: a string per file, "blob:ID?name=…&size=…&type=…"
// (see BlobRef). The form format keeps attachment and image values as
// strings (or arrays of strings), so the reference carries the upload's
// id, name, size and sniffed type in one string a script can read without
// another request. The engine, not the client, is the source of that
// metadata: a new reference is accepted only for an upload the same user
// made for the same app, form and field and that no record has claimed
// yet, and it is rewritten from the blob doc, so a forged name or type
// does not survive.

// Doc kinds of uploads.
const (
	KindBlob      = "blob"
	KindBlobChunk = "blob_chunk"
)

// Upload limits.
const (
	DefaultMaxBlobSize = 10 << 20 // bytes per upload unless ServiceOptions.MaxBlobSize says
	// MaxBlobSizeLimit bounds ServiceOptions.MaxBlobSize: an upload is held
	// in memory while its type is checked and it is stored in chunks.
	MaxBlobSizeLimit = 256 << 20
	BlobChunkSize    = 256 << 10  // bytes per stored chunk
	maxImagePixel    = 40_000_000 // width × height of an uploaded image
)

// BlobRef is an upload as a field value holds it.
type BlobRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type"`
}

// String is the field value: blob:ID?name=…&size=…&type=… .
func (r BlobRef) String() string {
	q := url.Values{"name": {r.Name}, "size": {strconv.FormatInt(r.Size, 10)}, "type": {r.Type}}
	return "blob:" + r.ID + "?" + q.Encode()
}

// IsImage reports whether the upload is an image the pages may show.
func (r BlobRef) IsImage() bool { return imageTypes[r.Type] }

// ParseBlobRef reads a field value written by BlobRef.String.
func ParseBlobRef(s string) (BlobRef, bool) {
	rest, ok := strings.CutPrefix(s, "blob:")
	if !ok {
		return BlobRef{}, false
	}
	id, qs, _ := strings.Cut(rest, "?")
	if !validBlobID(id) {
		return BlobRef{}, false
	}
	q, err := url.ParseQuery(qs)
	if err != nil {
		return BlobRef{}, false
	}
	size, _ := strconv.ParseInt(q.Get("size"), 10, 64)
	return BlobRef{ID: id, Name: q.Get("name"), Size: size, Type: q.Get("type")}, true
}

func validBlobID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}

// BlobInfo is an upload's metadata.
type BlobInfo struct {
	BlobRef
	SHA256    string    `json:"sha256"`
	App       string    `json:"app"`
	Form      string    `json:"form"`
	Field     string    `json:"field"`
	Owner     string    `json:"owner"`            // who uploaded it
	Record    string    `json:"record,omitempty"` // the record that claimed it
	Chunks    []string  `json:"chunks"`
	CreatedAt time.Time `json:"created_at"`
	// Pending is set while the chunks are being written; a pending upload
	// cannot be claimed.
	Pending bool `json:"pending,omitempty"`
	// Sealed is set for an upload to a sensitive field (x-sensitive) on a
	// store with keys: its chunks and thumbnail are sealed under the app's
	// data key, its chunk ids say nothing of the content, and its SHA-256
	// is stored only sealed (SealedSHA), since a hash of an ID-card photo
	// confirms a guess of it (see blob_seal.go).
	Sealed    bool   `json:"sealed,omitempty"`
	SealedSHA string `json:"sealed_sha256,omitempty"`
}

// Ref is the field value for the upload.
func (b *BlobInfo) Ref() string { return b.BlobRef.String() }

type blobChunk struct {
	Data []byte `json:"data"` // base64 in JSON
}

var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// attachmentTypes are what an attachment field takes beyond images.
var attachmentTypes = map[string]bool{"application/pdf": true, "text/plain": true}

// officeTypes are zip-based office documents, recognised by their name
// once the bytes are known to be a zip archive.
var officeTypes = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

// SniffUpload decides an upload's type from its bytes (the client's
// declared type is not trusted): images (PNG, JPEG, GIF, WebP) for image
// fields; for attachments also PDF, plain text and zip-based office
// documents. Images must decode their header and stay under 40
// megapixels. EUNSUPPORTED otherwise.
func SniffUpload(data []byte, name string, imageOnly bool) (string, error) {
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	unsupported := func() error {
		if imageOnly {
			return Errorf(EUNSUPPORTED, T("只能上传 PNG、JPEG、GIF 或 WebP 图片", "only PNG, JPEG, GIF or WebP images may be uploaded"))
		}
		return Errorf(EUNSUPPORTED, T("不支持的文件类型：可上传图片、PDF、纯文本或 Office 文档", "file type not allowed: upload images, PDF, plain text or Office documents"))
	}
	switch {
	case imageTypes[mt]:
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || !thumbFormats[format] || cfg.Width <= 0 || cfg.Height <= 0 {
			return "", errBadImage()
		}
		if int64(cfg.Width)*int64(cfg.Height) > maxImagePixel {
			return "", Errorf(ETOOLARGE, T("图片像素过多（上限 4000 万像素）", "the image has too many pixels (at most 40 megapixels)"))
		}
		return mt, nil
	case imageOnly:
		return "", unsupported()
	case attachmentTypes[mt]:
		if mt == "text/plain" && !utf8.Valid(data) {
			return "", unsupported()
		}
		return mt, nil
	case mt == "application/zip":
		if t, ok := officeTypes[strings.ToLower(path.Ext(name))]; ok {
			return t, nil
		}
	}
	return "", unsupported()
}

// CleanUploadName keeps the base name of an uploaded file, without
// control characters or path parts, at most 120 characters.
func CleanUploadName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 120 {
		name = string(r[len(r)-120:])
	}
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	return name
}

// uploadField checks that p may put an upload into field of form: the
// form allows create or update and the field is an editable attachment
// or image field.
func (s *Service) uploadField(ctx context.Context, p *Principal, app, form, field string) (*Form, *Field, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, nil, err
	}
	if !acc.Can(OpCreate) && !acc.Can(OpUpdate) {
		if !acc.Can(OpRead) {
			return nil, nil, s.deny(ctx, p, "file.upload", app, form, "", "no create or update permission", notFoundForm(app, form))
		}
		return nil, nil, s.deny(ctx, p, "file.upload", app, form, "", "no create or update permission", Forbidden(T("无权上传文件", "you may not upload files here")))
	}
	fd := f.Field(field)
	if fd == nil || acc.Field(field) == PermHidden {
		return nil, nil, Invalid(FieldError{Field: "/field", Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", field)})
	}
	if fd.Widget != WidgetAttachment && fd.Widget != WidgetImage {
		return nil, nil, Invalid(FieldError{Field: "/field", Code: "widget", Message: Tf("字段 %s 不接受文件", "field %s does not take files", field)})
	}
	if acc.Field(field) != PermEdit {
		return nil, nil, s.deny(ctx, p, "file.upload", app, form, "", "field not editable: "+field,
			Forbidden(T("无权修改该字段", "you may not change this field"), FieldError{Field: "/field", Code: "forbidden", Message: Tf("无权修改字段 %s", "you may not change field %s", field)}))
	}
	return f, fd, nil
}

// blobSlots bounds the uploads stored at once in the process: one holds
// its file, its sealed chunks and their encoding in memory (about five
// times the file), and thirty-two 6 MB uploads at once took a server to
// 985 MB resident. The others wait, as long as their client does; their
// bodies wait in temporary files (server's multipartMemory).
var blobSlots = NewSlots(max(2, runtime.GOMAXPROCS(0)))

// PutBlob stores an upload for field of form. The bytes are read from r
// up to MaxBlobSize (ETOOLARGE beyond), their type is sniffed
// (EUNSUPPORTED when not allowed for the field), and the upload belongs
// to p until a record of theirs claims it.
func (s *Service) PutBlob(ctx context.Context, p *Principal, app, form, field, name string, r io.Reader) (*BlobInfo, error) {
	f, fd, err := s.uploadField(ctx, p, app, form, field)
	if err != nil {
		return nil, err
	}
	release, err := blobSlots.Take(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	data, err := io.ReadAll(io.LimitReader(r, s.maxBlob+1))
	if err != nil {
		return nil, Errorf(EBADREQUEST, T("读取上传文件失败", "the upload could not be read"))
	}
	if int64(len(data)) > s.maxBlob {
		return nil, s.BlobTooLarge()
	}
	if len(data) == 0 {
		return nil, Invalid(FieldError{Field: "/file", Code: "empty", Message: T("文件是空的", "the file is empty")})
	}
	name = CleanUploadName(name)
	typ, err := SniffUpload(data, name, fd.Widget == WidgetImage)
	if err != nil {
		return nil, s.deny(ctx, p, "file.upload", app, form, "", "refused upload type", err)
	}
	var thumb *BlobThumb
	if imageTypes[typ] {
		if thumb, err = MakeThumbnail(ctx, data); err != nil {
			if c := ErrorCode(err); c != EUNSUPPORTED && c != ETOOLARGE {
				return nil, err
			}
			return nil, s.deny(ctx, p, "file.upload", app, form, "", "image does not decode", err)
		}
	}
	now := s.now()
	sum := sha256.Sum256(data)
	info := &BlobInfo{BlobRef: BlobRef{ID: NewID(now), Name: name, Size: int64(len(data)), Type: typ},
		SHA256: hex.EncodeToString(sum[:]), App: app, Form: f.Key, Field: fd.Key, Owner: p.Actor(), CreatedAt: now, Pending: true}
	if fd.Sensitive != "" && s.keys != nil {
		if err := s.sealBlobInfo(ctx, info); err != nil {
			return nil, err
		}
	}
	for off := 0; off < len(data); off += BlobChunkSize {
		info.Chunks = append(info.Chunks, blobChunkID(info, len(info.Chunks), data[off:min(off+BlobChunkSize, len(data))]))
	}
	// The blob doc first, pending and naming its chunks (as tags too),
	// then the chunks a few per write (content-addressed, so a retry
	// leaves nothing wrong behind), then the doc again, complete, with its
	// thumbnail and audit event: the upload exists once its doc is no
	// longer pending. Because the doc names a chunk before the chunk is
	// written, the collector (blob_gc.go) never takes a chunk from under
	// an upload in progress; a crash leaves a pending doc it purges later.
	res, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{blobDoc(info, 0)}})
	if err != nil {
		return nil, err
	}
	ver := res.Docs[0].Version
	var batch []DocWrite
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := s.store.Apply(ctx, &Change{Docs: batch})
		batch = nil
		return err
	}
	for i, id := range info.Chunks {
		off := i * BlobChunkSize
		part, err := s.sealBlobChunk(ctx, info, i, data[off:min(off+BlobChunkSize, len(data))])
		if err != nil {
			return nil, err
		}
		batch = append(batch, DocWrite{Doc: Doc{Kind: KindBlobChunk, ID: id, Value: MustJSON(blobChunk{Data: part}), Updated: now}, ExpectVersion: AnyVersion})
		if len(batch) == 4 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	info.Pending = false
	ev := s.Event(p, "file.upload", app, f.Key, "", []string{fd.Key}, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"blob": info.ID, "size": info.Size, "type": info.Type})
	ch := &Change{Docs: []DocWrite{blobDoc(info, ver)}, Audit: []*AuditEvent{ev}}
	if thumb != nil {
		w, err := s.thumbDoc(ctx, info, thumb)
		if err != nil {
			return nil, err
		}
		ch.Docs = append(ch.Docs, w)
	}
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return nil, err
	}
	return info, nil
}

// blobDoc is the doc write of an upload's metadata at an expected
// version. Its tags find an upload by owner, by the record that claimed
// it, and by each of its chunks (the collector's reference count).
func blobDoc(b *BlobInfo, expect int64) DocWrite {
	tags := []string{"owner:" + b.Owner}
	if b.Record != "" {
		tags = append(tags, "record:"+b.Record)
	}
	seen := map[string]bool{}
	for _, c := range b.Chunks {
		if !seen[c] {
			seen[c] = true
			tags = append(tags, "chunk:"+c)
		}
	}
	stored := *b
	if b.Sealed {
		stored.SHA256 = "" // kept only sealed
	}
	return DocWrite{Doc: Doc{Kind: KindBlob, ID: b.ID, Tags: tags, Value: MustJSON(&stored), Updated: b.CreatedAt}, ExpectVersion: expect}
}

func (s *Service) findBlob(ctx context.Context, id string) (*BlobInfo, int64, error) {
	if !validBlobID(id) {
		return nil, 0, Errorf(ENOTFOUND, T("文件不存在", "file not found"))
	}
	d, err := s.store.FindDoc(ctx, KindBlob, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, 0, Errorf(ENOTFOUND, T("文件不存在", "file not found"))
		}
		return nil, 0, err
	}
	var b BlobInfo
	if err := json.Unmarshal(d.Value, &b); err != nil {
		return nil, 0, err
	}
	if err := s.openBlobInfo(ctx, &b); err != nil {
		return nil, 0, err
	}
	return &b, d.Version, nil
}

// readBlob reads an upload's bytes and checks them against its SHA-256.
func (s *Service) readBlob(ctx context.Context, b *BlobInfo) ([]byte, error) {
	out := make([]byte, 0, b.Size)
	for i, id := range b.Chunks {
		d, err := s.store.FindDoc(ctx, KindBlobChunk, id)
		if err != nil {
			return nil, err
		}
		var c blobChunk
		if err := json.Unmarshal(d.Value, &c); err != nil {
			return nil, err
		}
		part, err := s.openBlobChunk(ctx, b, i, c.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	sum := sha256.Sum256(out)
	if hex.EncodeToString(sum[:]) != b.SHA256 || int64(len(out)) != b.Size {
		return nil, &Error{Code: EINTERNAL, Message: T("文件内容已损坏", "the file's content is damaged")}
	}
	return out, nil
}

// OpenBlob returns an upload held by a field of a record, for download.
// p must be able to read the record (in scope; else ENOTFOUND) and the
// field holding it: a hidden field is ENOTFOUND, a masked one EFORBIDDEN.
// The download is audited.
func (s *Service) OpenBlob(ctx context.Context, p *Principal, app, form, id, blobID string) (*BlobInfo, []byte, error) {
	b, field, err := s.blobOfRecord(ctx, p, app, form, id, blobID)
	if err != nil {
		return nil, nil, err
	}
	data, err := s.readBlob(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	ev := s.Event(p, "file.download", app, b.Form, id, []string{field}, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"blob": b.ID})
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, nil, err
	}
	return b, data, nil
}

// blobOfRecord finds an upload held by a field of a record that p may
// read (see OpenBlob) and returns it with the field's key; refusals are
// audited.
func (s *Service) blobOfRecord(ctx context.Context, p *Principal, app, form, id, blobID string) (*BlobInfo, string, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, "", err
	}
	notFound := Errorf(ENOTFOUND, T("文件不存在", "file not found"))
	if !acc.Can(OpRead) {
		return nil, "", s.deny(ctx, p, "file.download", app, form, id, "no read permission", notFound)
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, "", s.deny(ctx, p, "file.download", app, form, id, "not found or out of scope", notFound)
		}
		return nil, "", err
	}
	field := ""
	for _, fd := range f.Fields {
		if fd.Widget != WidgetAttachment && fd.Widget != WidgetImage {
			continue
		}
		for _, v := range fieldStrings(r.Data[fd.Key]) {
			if ref, ok := ParseBlobRef(v); ok && ref.ID == blobID {
				field = fd.Key
			}
		}
	}
	switch {
	case field == "" || acc.Field(field) == PermHidden:
		return nil, "", s.deny(ctx, p, "file.download", app, form, id, "no such file on the record", notFound)
	case acc.Field(field) == PermMasked:
		return nil, "", s.deny(ctx, p, "file.download", app, form, id, "field masked: "+field, Forbidden(T("无权查看该字段的文件", "you may not open the files of this field")))
	}
	b, _, err := s.findBlob(ctx, blobID)
	if err != nil {
		return nil, "", err
	}
	if b.Record != id || b.App != app || b.Form != f.Key {
		return nil, "", s.deny(ctx, p, "file.download", app, form, id, "file belongs elsewhere", notFound)
	}
	return b, field, nil
}

// fieldStrings returns the strings a field value holds (one, or an
// array's).
func fieldStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			if s, ok := it.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// bindBlobs checks the upload references of a record about to be written
// and claims the new ones for it. A value the record already held (prev)
// is kept as it is. Any other value of an attachment or image field must
// be a reference to an upload for the same app, form and field that either
// this record already claimed, or that p made and no record has claimed;
// it is rewritten from the blob doc. The returned doc writes claim the new
// uploads in the record's own Apply.
func (s *Service) bindBlobs(ctx context.Context, p *Principal, app string, f *Form, id string, data, prev map[string]any) ([]DocWrite, error) {
	var claims []DocWrite
	var bad []FieldError
	claimed := map[string]bool{}
	for _, fd := range f.Fields {
		if fd.Widget != WidgetAttachment && fd.Widget != WidgetImage {
			continue
		}
		old := map[string]bool{}
		for _, v := range fieldStrings(prev[fd.Key]) {
			old[v] = true
		}
		check := func(v any, ptr string) any {
			str, ok := v.(string)
			if !ok || old[str] {
				return v
			}
			fail := func() any {
				bad = append(bad, FieldError{Field: ptr, Code: "upload", Message: T("请先上传文件（该值不是本人为此字段上传的文件）", "upload the file first (this is not an upload of yours for this field)")})
				return v
			}
			ref, ok := ParseBlobRef(str)
			if !ok {
				return fail()
			}
			b, ver, err := s.findBlob(ctx, ref.ID)
			if err != nil || b.Pending || b.App != app || b.Form != f.Key || b.Field != fd.Key {
				return fail()
			}
			switch {
			case b.Record == id:
			case b.Record == "" && b.Owner == p.Actor():
				if !claimed[b.ID] {
					claimed[b.ID] = true
					nb := *b
					nb.Record = id
					claims = append(claims, blobDoc(&nb, ver))
				}
			default:
				return fail()
			}
			return b.Ref()
		}
		switch x := data[fd.Key].(type) {
		case string:
			data[fd.Key] = check(x, JSONPointer(fd.Key))
		case []any:
			for i, it := range x {
				x[i] = check(it, JSONPointer(fd.Key)+"/"+strconv.Itoa(i))
			}
		}
	}
	if len(bad) > 0 {
		return nil, Invalid(bad...)
	}
	return claims, nil
}

// MaxBlobSize is the most bytes one upload may hold
// (ServiceOptions.MaxBlobSize).
func (s *Service) MaxBlobSize() int64 { return s.maxBlob }

// BlobTooLarge is the ETOOLARGE refusal of an upload over MaxBlobSize,
// naming the limit as people write it (10 MB, 512 KB).
func (s *Service) BlobTooLarge() error {
	if s.maxBlob >= 1<<20 && s.maxBlob%(1<<20) == 0 {
		return Errorf(ETOOLARGE, Tf("文件超过 %d MB", "the file is larger than %d MB", s.maxBlob>>20))
	}
	return Errorf(ETOOLARGE, Tf("文件超过 %d KB", "the file is larger than %d KB", (s.maxBlob+1023)>>10))
}
