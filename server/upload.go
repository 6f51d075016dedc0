package server

import (
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindUploadRoutes binds uploads and downloads for the API and the same
// handlers for the pages.
func (s *server) bindUploadRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.POST(v1+"/apps/:app/forms/:form/uploads", s.uploadFile, user...)
	e.GET(v1+"/apps/:app/forms/:form/records/:id/files/:blob", s.downloadFile, user...)
	e.POST("/apps/:app/forms/:form/uploads", s.uploadFile, page...)
	e.GET("/apps/:app/forms/:form/records/:id/files/:blob", s.downloadFile, page...)
}

// Uploads: a multipart endpoint (API and form page) that stores a file
// for an attachment or image field through engine.Service.PutBlob, which
// sniffs the type from the bytes and enforces the size limit; and a
// download endpoint that goes through engine.Service.OpenBlob, which
// checks that the caller may read the record and the field holding it.
// A plain form submit (no script) may carry files too: the form page
// posts multipart/form-data with one file input per field, named
// _upload.KEY.

// multipartLimit is the default body limit of multipart requests
// (Config.UploadLimit: a form page with several files, or one upload);
// each file is held to the service's MaxBlobSize by the engine.
const multipartLimit = 4*engine.DefaultMaxBlobSize + 1<<20

// multipartMemory is how much of a multipart body's files is kept in
// memory; the rest goes to temporary files (TMPDIR). A body arrives at
// its client's pace, so every upload in flight holds this much: at 8 MiB,
// 32 photos arriving at once held 256 MiB before any was stored.
const multipartMemory = 1 << 20

// isMultipart reports whether a request carries multipart/form-data, whose
// body limit is Config.UploadLimit (see limitBody).
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// fileURL is the page address of an upload held by a record.
func fileURL(app, form, id, blob string) string {
	return formBase(app, form) + "/records/" + url.PathEscape(id) + "/files/" + url.PathEscape(blob)
}

// multipartForm parses a multipart body: 415 for another content type,
// 413 past the body limit, 400 when it does not parse.
func multipartForm(c echo.Context) (*multipart.Form, error) {
	if !isMultipart(c.Request()) {
		return nil, engine.Errorf(engine.EUNSUPPORTED, engine.T("上传须为 multipart/form-data", "an upload must be multipart/form-data"))
	}
	if err := c.Request().ParseMultipartForm(multipartMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(mbe.Limit)
		}
		if strings.Contains(err.Error(), "too large") {
			return nil, errTooLarge(multipartLimit)
		}
		return nil, badRequest(engine.T("上传内容无法解析", "the upload could not be read"))
	}
	return c.Request().MultipartForm, nil
}

type uploadResult struct {
	engine.BlobRef
	SHA256 string `json:"sha256"`
	Field  string `json:"field"`
	Value  string `json:"value"` // what to put into the field
}

// uploadFile takes one file (part "file") for a field (part "field") of
// a form and answers 201 with the upload and the value to put into the
// field; 413 past the size limit, 415 for a type the field does not take.
func (s *server) uploadFile(c echo.Context) error {
	mf, err := multipartForm(c)
	if err != nil {
		return err
	}
	field := strings.TrimSpace(first(mf.Value["field"]))
	if field == "" {
		return badRequest(engine.T("缺少 field", "field is missing"),
			engine.FieldError{Field: "/field", Code: "required", Message: engine.T("缺少字段名", "the field key is missing")})
	}
	file, err := onlyFile(mf)
	if err != nil {
		return err
	}
	info, err := s.putFile(c, c.Param("app"), c.Param("form"), field, file)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, uploadResult{BlobRef: info.BlobRef, SHA256: info.SHA256, Field: info.Field, Value: info.Ref()})
}

// onlyFile is the one "file" part of a multipart body; 400 when there is
// none or more than one.
func onlyFile(mf *multipart.Form) (*multipart.FileHeader, error) {
	files := mf.File["file"]
	if len(files) != 1 {
		return nil, badRequest(engine.T("须上传且只上传一个 file", "send exactly one file part"),
			engine.FieldError{Field: "/file", Code: "required", Message: engine.T("缺少文件", "the file is missing")})
	}
	return files[0], nil
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func (s *server) putFile(c echo.Context, app, form, field string, fh *multipart.FileHeader) (*engine.BlobInfo, error) {
	if fh.Size > s.svc.MaxBlobSize() {
		return nil, s.svc.BlobTooLarge()
	}
	f, err := fh.Open()
	if err != nil {
		return nil, badRequest(engine.T("读取上传文件失败", "the upload could not be read"))
	}
	defer f.Close()
	return s.svc.PutBlob(c.Request().Context(), principal(c), app, form, field, fh.Filename, f)
}

// pageUploads stores the files a form page posted (inputs _upload.KEY)
// and adds their references to the data; a refused file is an error next
// to its field.
func (s *server) pageUploads(c echo.Context, fv *engine.FormView, data map[string]any) []engine.FieldError {
	mf := c.Request().MultipartForm
	if mf == nil {
		return nil
	}
	var errs []engine.FieldError
	for _, f := range fv.Fields {
		fd := f.Field
		files := mf.File["_upload."+fd.Key]
		if len(files) == 0 || (fd.Widget != engine.WidgetAttachment && fd.Widget != engine.WidgetImage) {
			continue
		}
		for _, fh := range files {
			if fh.Filename == "" && fh.Size == 0 {
				continue // an empty file input
			}
			info, err := s.putFile(c, fv.App, fv.Key, fd.Key, fh)
			if err != nil {
				errs = append(errs, engine.FieldError{Field: engine.JSONPointer(fd.Key), Code: engine.ErrorCode(err),
					Message: engine.T(fh.Filename+"："+engine.ErrorMessage(err, "zh"), fh.Filename+": "+engine.ErrorMessage(err, "en"))})
				continue
			}
			if fd.Type == "array" {
				items, _ := data[fd.Key].([]any)
				data[fd.Key] = append(items, info.Ref())
			} else {
				data[fd.Key] = info.Ref()
			}
		}
	}
	return errs
}

// downloadFile sends an upload held by a record, if the caller may read
// the record and the field (engine.Service.OpenBlob). Images are shown
// inline, other files downloaded; the type is the one sniffed at upload.
// With ?thumb=1 it sends the image's thumbnail instead (same checks,
// engine.Service.OpenBlobThumb): what pages show in lists and records.
func (s *server) downloadFile(c echo.Context) error {
	if c.QueryParam("thumb") != "" {
		return s.downloadThumb(c)
	}
	info, data, err := s.svc.OpenBlob(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), c.Param("blob"))
	if err != nil {
		return err
	}
	disp := "attachment"
	if info.IsImage() {
		disp = "inline"
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": info.Name}))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("ETag", `"`+info.SHA256+`"`)
	h.Set("Content-Security-Policy", fileCSP)
	return c.Blob(http.StatusOK, info.Type, data)
}

// fileCSP is the policy of a file response: nothing in it may run.
const fileCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

// downloadThumb sends an image's thumbnail. An upload never changes under
// its id, so the thumbnail is cached privately and revalidated by its
// ETag; a matching If-None-Match is answered 304 after the same checks.
func (s *server) downloadThumb(c echo.Context) error {
	info, t, err := s.svc.OpenBlobThumb(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), c.Param("blob"))
	if err != nil {
		return err
	}
	etag := `"` + info.SHA256[:32] + `-t` + strconv.Itoa(engine.ThumbSize) + `"`
	h := c.Response().Header()
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", etag)
	h.Set("Vary", "Cookie, Authorization")
	if etagMatch(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	base := strings.TrimSuffix(info.Name, path.Ext(info.Name))
	ext := ".jpg"
	if t.Type == "image/png" {
		ext = ".png"
	}
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": base + "-thumb" + ext}))
	h.Set("Content-Length", strconv.Itoa(len(t.Data)))
	h.Set("Content-Security-Policy", fileCSP)
	return c.Blob(http.StatusOK, t.Type, t.Data)
}

// etagMatch reports whether an If-None-Match header names etag (or *).
func etagMatch(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}
