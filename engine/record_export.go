package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Exports: a user with the export operation asks for the records a list
// selects, as a file. The engine decides everything about what leaves —
// the operation, the scope, which fields (hidden ones never, masked ones
// masked), whether an approval must come first — and keeps the job, the
// file (sealed under the app's data key) and the audit trail; the
// exchange package writes the file from ExportPages.

// Doc kinds and outbox jobs of exports.
const (
	KindExportJob   = "export_job"
	KindExportChunk = "export_chunk"
	// JobRecordExport writes a queued export's file.
	JobRecordExport = "records:export"
	// JobExportExpire deletes an export's file when it expires.
	JobExportExpire = "export:expire"
)

// Export states, as the API reports them.
const (
	ExportQueued           = "queued"
	ExportRunning          = "running"
	ExportAwaitingApproval = "awaiting_approval"
	ExportRejected         = "rejected"
	ExportDone             = "done"
	ExportExpired          = "expired"
	ExportFailed           = "failed"
)

// Export formats.
const (
	ExportXLSX = "xlsx"
	ExportCSV  = "csv"
)

// ExportTTL is how long an export's file can be downloaded.
const ExportTTL = 24 * time.Hour

// exportChunkSize is how much of a file one sealed chunk doc holds.
const exportChunkSize = 256 << 10

// MaxExportRows is the most records one export writes (an xlsx sheet holds
// 1,048,576 rows with its header lines).
const MaxExportRows = 1_000_000

// ExportRule is a form permission's export control (FORMAT "further
// keys"): an export of more than ApproveOverRows records, or (with
// ApproveUnmasked) one holding a sensitive field unmasked, waits for one
// of Approvers to approve it.
type ExportRule struct {
	ApproveOverRows int        `json:"approve_over_rows,omitempty"`
	ApproveUnmasked bool       `json:"approve_unmasked,omitempty"`
	Approvers       *Assignees `json:"approvers,omitempty"`
}

// ExportRequest is what a user asks to export: the list's selection
// (filter, conditions, search and sort, as ListRecords takes them), the
// columns (default: every field the user may see) and the format.
type ExportRequest struct {
	Format string          `json:"format"`
	Filter json.RawMessage `json:"filter,omitempty"`
	Match  []FieldMatch    `json:"match,omitempty"`
	Search string          `json:"search,omitempty"`
	Sort   string          `json:"sort,omitempty"`
	Fields []string        `json:"fields,omitempty"`
	// Lang is the language of the file's column names and values (zh, en).
	Lang string `json:"lang,omitempty"`
}

// ExportJob is one export: its request, its progress and its file.
type ExportJob struct {
	ID      string        `json:"id"`
	App     string        `json:"app"`
	Form    string        `json:"form"`
	Title   Text          `json:"title"`
	Format  string        `json:"format"`
	State   string        `json:"status"`
	Request ExportRequest `json:"request"`
	Columns []string      `json:"columns"` // field keys, in order
	Rows    int64         `json:"rows"`    // records selected when asked
	Done    int64         `json:"done"`    // records written so far
	Owner   string        `json:"owner"`
	Name    string        `json:"owner_name"`
	IP      string        `json:"ip,omitempty"`
	// Unmasked lists the sensitive fields the file holds in clear.
	Unmasked []string `json:"unmasked,omitempty"`
	// Approval is the approval request's record id, when one was needed.
	Approval string `json:"approval,omitempty"`
	// Tag is the watermark: a keyed fingerprint of the export id that the
	// file carries and TraceExport finds the export by.
	Tag string `json:"tag"`
	// NoMark leaves the invisible mark out (the app's export settings); the
	// visible watermark and the workbook's properties stay.
	NoMark   bool       `json:"no_mark,omitempty"`
	Size     int64      `json:"size,omitempty"`
	Chunks   int        `json:"chunks,omitempty"`
	SHA256   string     `json:"sha256,omitempty"`
	Created  time.Time  `json:"created"`
	Updated  time.Time  `json:"updated"`
	Finished *time.Time `json:"finished,omitempty"`
	Expires  *time.Time `json:"expires,omitempty"`
	Error    *Text      `json:"error,omitempty"`
}

// ExportColumn is one column of an export as its owner may see it.
type ExportColumn struct {
	Field *Field
	Perm  string
}

// ExportApprover starts the approval an export needs (the workflow
// runtime implements it): it adds to ch the approval request, whose
// approval later calls Service.ApproveExport, and returns its id.
type ExportApprover interface {
	StartExportApproval(ctx context.Context, p *Principal, job *ExportJob, approvers *Assignees, ch *Change) (string, error)
}

// RequestExport files p's export of the records of app/form that req
// selects. It needs the export operation (and read); the columns are the
// fields p may see (hidden ones are refused). When p's roles ask for an
// approval (ExportRule) the job waits for it (approver starts it; without
// one, EUNAVAILABLE); otherwise it is queued at once. EINVALID for a bad
// request, EFORBIDDEN without the operation; both audited.
func (s *Service) RequestExport(ctx context.Context, p *Principal, app, form string, req ExportRequest, approver ExportApprover) (*ExportJob, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, s.deny(ctx, p, "export", app, form, "", "no read permission", notFoundForm(app, form))
	}
	if !acc.Can(OpExport) {
		return nil, s.deny(ctx, p, "export", app, form, "", "no export permission", Forbidden(T("你没有导出此表单数据的权限", "you may not export this form's records")))
	}
	if req.Format == "" {
		req.Format = ExportXLSX
	}
	if req.Format != ExportXLSX && req.Format != ExportCSV {
		return nil, Invalid(FieldError{Field: "/format", Code: "enum", Message: T("导出格式只能是 xlsx 或 csv", "the format is xlsx or csv")})
	}
	cols, err := exportColumns(f, acc, req.Fields)
	if err != nil {
		return nil, s.deny(ctx, p, "export", app, form, "", "export of a field not visible", err)
	}
	q := ListQuery{Filter: req.Filter, Match: req.Match, Search: req.Search, Sort: req.Sort}
	fe, _, err := s.selection(ctx, p, "export", app, f, acc, q)
	if err != nil {
		return nil, err
	}
	n, err := s.store.CountRecords(ctx, RecordQuery{App: app, Form: f.Key, Filter: fe, appVersion: s.formVersion(f)})
	if err != nil {
		return nil, err
	}
	if n > MaxExportRows {
		return nil, Invalid(FieldError{Field: "/filter", Code: "too_many", Message: Tf("一次最多导出 %d 条记录，请缩小筛选范围", "one export holds at most %d records; narrow the filter", MaxExportRows)})
	}
	now := s.now()
	j := &ExportJob{ID: "exp-" + NewID(now), App: app, Form: f.Key, Title: f.Title, Format: req.Format, State: ExportQueued, Request: req,
		Rows: n, Owner: p.User.ID, Name: p.User.Name, IP: p.IP, Created: now, Updated: now}
	for _, c := range cols {
		j.Columns = append(j.Columns, c.Field.Key)
		if c.Perm != PermMasked && c.Field.Sensitive != "" {
			j.Unmasked = append(j.Unmasked, c.Field.Key)
		}
	}
	if j.Tag, err = s.exportTag(ctx, app, j.ID); err != nil {
		return nil, err
	}
	if b.App.Export != nil && b.App.Export.InvisibleMark != nil && !*b.App.Export.InvisibleMark {
		j.NoMark = true
	}
	rule := exportRule(b, f.Key, acc)
	ev := s.Event(p, "export.request", app, f.Key, j.ID, j.Columns, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"format": j.Format, "rows": n, "filter": string(req.Filter), "match": req.Match, "search": req.Search, "sort": req.Sort})
	ch := &Change{Audit: []*AuditEvent{ev}}
	if rule != nil && (rule.ApproveOverRows > 0 && n > int64(rule.ApproveOverRows) || rule.ApproveUnmasked && len(j.Unmasked) > 0) {
		if approver == nil {
			return nil, Errorf(EUNAVAILABLE, T("这次导出需要审批，但审批服务没有运行", "this export needs an approval, and approvals are not running"))
		}
		j.State = ExportAwaitingApproval
		if j.Approval, err = approver.StartExportApproval(ctx, p, j, rule.Approvers, ch); err != nil {
			return nil, err
		}
	} else {
		ch.Outbox = append(ch.Outbox, exportRunJob(j, now))
	}
	ch.Docs = append(ch.Docs, exportDoc(j, 0))
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return nil, err
	}
	return j, nil
}

// exportColumns are the columns of an export: the fields asked for (or
// every field acc shows), each with its permission. EFORBIDDEN for a
// hidden or unknown field.
func exportColumns(f *Form, acc *Access, keys []string) ([]ExportColumn, error) {
	var out []ExportColumn
	if len(keys) == 0 {
		for _, fd := range LayoutOrder(f) {
			if perm := acc.Field(fd.Key); perm != PermHidden {
				out = append(out, ExportColumn{Field: fd, Perm: perm})
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, k := range keys {
		fd := f.Field(k)
		if fd == nil || acc.Field(k) == PermHidden {
			return nil, Forbidden(T("不能导出无权查看的字段", "you may not export a field you cannot see"),
				FieldError{Field: "/fields", Code: "forbidden", Message: Tf("不能导出字段 %s", "you may not export %s", k)})
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, ExportColumn{Field: fd, Perm: acc.Field(k)})
		}
	}
	return out, nil
}

// LayoutOrder is f's fields in the order its layout shows them, then
// those the layout leaves out, in document order.
func LayoutOrder(f *Form) []*Field {
	out := make([]*Field, 0, len(f.Fields))
	seen := map[string]bool{}
	for _, sec := range f.Layout {
		for _, k := range sec.Fields {
			if fd := f.Field(k); fd != nil && !seen[k] {
				seen[k] = true
				out = append(out, fd)
			}
		}
	}
	for _, fd := range f.Fields {
		if !seen[fd.Key] {
			out = append(out, fd)
		}
	}
	return out
}

// exportRule is the strictest export control among the roles that give
// acc the export operation on form: the lowest row threshold, approval of
// unmasked fields if any asks for it, the approvers of the first that
// names them.
func exportRule(b *Bundle, form string, acc *Access) *ExportRule {
	var out *ExportRule
	for _, rk := range acc.Roles {
		r := b.Role(rk)
		if r == nil {
			continue
		}
		fp := r.Permissions[form]
		if fp == nil || fp.Export == nil || !slices.Contains(fp.Operations, string(OpExport)) {
			continue
		}
		if out == nil {
			out = &ExportRule{}
		}
		er := fp.Export
		if er.ApproveOverRows > 0 && (out.ApproveOverRows == 0 || er.ApproveOverRows < out.ApproveOverRows) {
			out.ApproveOverRows = er.ApproveOverRows
		}
		out.ApproveUnmasked = out.ApproveUnmasked || er.ApproveUnmasked
		if out.Approvers == nil {
			out.Approvers = er.Approvers
		}
	}
	return out
}

// exportTag is the watermark of an export: the first 32 bits of a keyed
// hash of its id (the app's index key; without keys, a plain hash).
func (s *Service) exportTag(ctx context.Context, app, id string) (string, error) {
	if s.keys != nil {
		bi, err := s.keys.BlindIndex(ctx, app, "_export", "_tag", id)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256([]byte(bi))
		return hex.EncodeToString(sum[:4]), nil
	}
	m := hmac.New(sha256.New, []byte("formwork export"))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:4]), nil
}

func exportDoc(j *ExportJob, expect int64) DocWrite {
	return DocWrite{Doc: Doc{Kind: KindExportJob, ID: j.ID, Tags: []string{"owner:" + j.Owner, "tag:" + j.Tag}, Value: MustJSON(j), Updated: j.Updated},
		ExpectVersion: expect}
}

func exportRunJob(j *ExportJob, now time.Time) OutboxJob {
	return OutboxJob{ID: "export-run-" + j.ID, Type: JobRecordExport, Payload: MustJSON(map[string]string{"export": j.ID}), RunAt: now, CreatedAt: now}
}

// findExport reads an export job with its doc version.
func (s *Service) findExport(ctx context.Context, id string) (*ExportJob, int64, error) {
	d, err := s.store.FindDoc(ctx, KindExportJob, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, 0, Errorf(ENOTFOUND, T("没有这次导出", "there is no such export"))
		}
		return nil, 0, err
	}
	var j ExportJob
	if err := DecodeDoc(d, &j); err != nil {
		return nil, 0, err
	}
	if j.State != ExportExpired && j.Expires != nil && !s.now().Before(*j.Expires) {
		j.State = ExportExpired
	}
	return &j, d.Version, nil
}

// Export returns p's export id: its owner's alone (ENOTFOUND for anyone
// else, administrators included: the file is the owner's). A job waiting
// for an approval that was rejected reads as rejected.
func (s *Service) Export(ctx context.Context, p *Principal, id string) (*ExportJob, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	j, _, err := s.findExport(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Owner != p.User.ID {
		return nil, s.deny(ctx, p, "export.read", j.App, j.Form, id, "not the owner", Errorf(ENOTFOUND, T("没有这次导出", "there is no such export")))
	}
	if err := CheckTokenApp(p, j.App); err != nil {
		return nil, s.deny(ctx, p, "export.read", j.App, j.Form, id, "personal token limited to other apps", err)
	}
	if j.State == ExportAwaitingApproval && j.Approval != "" {
		if r, err := s.store.FindRecordByID(ctx, exportApprovalApp, exportApprovalForm, j.Approval, true); err == nil && (r.Status == StatusRejected || r.Status == StatusWithdrawn) {
			j.State = ExportRejected
		}
	}
	return j, nil
}

// Exports lists p's exports, newest first.
func (s *Service) Exports(ctx context.Context, p *Principal) ([]*ExportJob, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindExportJob, Tag: "owner:" + p.User.ID})
	if err != nil {
		return nil, err
	}
	return newestFirst(docs), nil
}

// newestFirst decodes export job docs, the newest first.
func newestFirst(docs []*Doc) []*ExportJob {
	out := decodeEach(docs, func(*ExportJob) bool { return true })
	slices.SortFunc(out, func(a, b *ExportJob) int { return b.Created.Compare(a.Created) })
	return out
}

// The built-in app exports needing approval are filed in (see
// engine/workflow/export_request.go).
const (
	exportApprovalApp  = "access"
	exportApprovalForm = "export_request"
)

// ApproveExport queues export id once its approval has passed; the
// workflow's last step calls it. Idempotent.
func (s *Service) ApproveExport(ctx context.Context, id, approver string) error {
	j, ver, err := s.findExport(ctx, id)
	if err != nil {
		return err
	}
	if j.State != ExportAwaitingApproval {
		return nil
	}
	now := s.now()
	j.State, j.Updated = ExportQueued, now
	ev := &AuditEvent{Time: now, Actor: approver, Action: "export.approve", App: j.App, Form: j.Form, Object: j.ID, Result: ResultOK}
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{exportDoc(j, ver)}, Outbox: []OutboxJob{exportRunJob(j, now)}, Audit: []*AuditEvent{ev}})
	if ErrorCode(err) == ECONFLICT {
		return nil
	}
	return err
}

// ExportPages runs the selection of job as its owner may see it now (the
// owner's access is resolved again: one who lost the export operation
// meanwhile gets nothing) and hands fn each page of records with the
// display labels of their members, units and relations. It reports the
// progress in the job every page.
func (s *Service) ExportPages(ctx context.Context, job *ExportJob, fn func(cols []ExportColumn, page []*RecordView, labels []map[string]Text) error) error {
	u, err := s.org.FindUserByID(ctx, job.Owner)
	if err != nil {
		return err
	}
	if u.Frozen {
		return Forbidden(T("导出人的账号已被冻结", "the exporting user is frozen"))
	}
	p := &Principal{User: u, IP: job.IP}
	_, _, f, acc, err := s.formAccess(ctx, p, job.App, job.Form)
	if err != nil {
		return err
	}
	if !acc.Can(OpRead) || !acc.Can(OpExport) {
		return s.deny(ctx, p, "export", job.App, job.Form, job.ID, "no export permission any more", Forbidden(T("你已没有导出此表单数据的权限", "you may no longer export this form's records")))
	}
	cols, err := exportColumns(f, acc, job.Columns)
	if err != nil {
		return err
	}
	q := ListQuery{Filter: job.Request.Filter, Match: job.Request.Match, Search: job.Request.Search, Sort: job.Request.Sort}
	fe, sortKeys, err := s.selection(ctx, p, "export", job.App, f, acc, q)
	if err != nil {
		return err
	}
	cursor := ""
	var done int64
	for {
		page, err := s.store.FindRecords(ctx, RecordQuery{App: job.App, Form: f.Key, Filter: fe, Sort: sortKeys, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		views := make([]*RecordView, len(page.Items))
		datas := make([]map[string]any, len(page.Items))
		for i, r := range page.Items {
			views[i] = viewOf(r, f, acc)
			datas[i] = views[i].Data
		}
		labels, err := s.PickLabelsList(ctx, p, job.App, f.Key, datas)
		if err != nil {
			return err
		}
		if err := fn(cols, views, labels); err != nil {
			return err
		}
		done += int64(len(views))
		if err := s.exportProgress(ctx, job.ID, done); err != nil {
			return err
		}
		if page.NextCursor == "" || done >= MaxExportRows {
			return nil
		}
		cursor = page.NextCursor
	}
}

// exportProgress notes how many records an export has written.
func (s *Service) exportProgress(ctx context.Context, id string, done int64) error {
	j, ver, err := s.findExport(ctx, id)
	if err != nil {
		return err
	}
	j.State, j.Done, j.Updated = ExportRunning, done, s.now()
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{exportDoc(j, ver)}})
	return err
}

// StartExport marks a queued export running; false when it is not queued
// (done, expired, or still awaiting approval), so a redelivered job does
// nothing.
func (s *Service) StartExport(ctx context.Context, id string) (*ExportJob, bool, error) {
	j, ver, err := s.findExport(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, false, nil
		}
		return nil, false, err
	}
	if j.State != ExportQueued && j.State != ExportRunning {
		return j, false, nil
	}
	j.State, j.Done, j.Updated = ExportRunning, 0, s.now()
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{exportDoc(j, ver)}}); err != nil {
		return nil, false, err
	}
	return j, true, nil
}

// FinishExport keeps the written file (sealed under the app's data key, in
// chunks), marks the export done until ExportTTL from now, schedules its
// expiry and audits the export with its filter and row count.
func (s *Service) FinishExport(ctx context.Context, id string, rows int64, file io.Reader) error {
	j, ver, err := s.findExport(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	h := sha256.New()
	buf := make([]byte, exportChunkSize)
	n := 0
	var size int64
	for {
		k, rerr := io.ReadFull(file, buf)
		if k > 0 {
			h.Write(buf[:k])
			data := slices.Clone(buf[:k])
			if s.keys != nil {
				sealed, err := s.keys.Seal(ctx, j.App, exportChunkAAD(j.ID, n), data)
				if err != nil {
					return err
				}
				data = []byte(sealed)
			}
			w := DocWrite{Doc: Doc{Kind: KindExportChunk, ID: exportChunkID(j.ID, n), Tags: []string{"export:" + j.ID}, Value: MustJSON(map[string][]byte{"data": data}), Updated: now},
				ExpectVersion: AnyVersion}
			if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{w}}); err != nil {
				return err
			}
			n++
			size += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	exp := now.Add(ExportTTL)
	j.State, j.Done, j.Size, j.Chunks, j.SHA256, j.Updated, j.Finished, j.Expires = ExportDone, rows, size, n, hex.EncodeToString(h.Sum(nil)), now, &now, &exp
	ev := &AuditEvent{Time: now, Actor: j.Owner, IP: j.IP, Action: "export", App: j.App, Form: j.Form, Object: j.ID, Fields: j.Columns, Result: ResultOK}
	ev.Detail = MustJSON(map[string]any{"format": j.Format, "rows": rows, "filter": string(j.Request.Filter), "match": j.Request.Match, "search": j.Request.Search,
		"sort": j.Request.Sort, "unmasked": j.Unmasked, "sha256": j.SHA256})
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{exportDoc(j, ver)}, Audit: []*AuditEvent{ev},
		Outbox: []OutboxJob{{ID: "export-expire-" + j.ID, Type: JobExportExpire, Payload: MustJSON(map[string]string{"export": j.ID}), RunAt: exp, CreatedAt: now}}})
	if err == nil {
		s.watch.observe([]*AuditEvent{ev}) // written here, not through the writer: the rows count for bulk_export
	}
	return err
}

// FailExport marks an export failed with a reason in words.
func (s *Service) FailExport(ctx context.Context, id string, why Text) error {
	j, ver, err := s.findExport(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	j.State, j.Error, j.Updated, j.Finished = ExportFailed, &why, now, &now
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{exportDoc(j, ver)}})
	return err
}

func exportChunkID(id string, n int) string  { return id + "." + strconv.Itoa(n) }
func exportChunkAAD(id string, n int) string { return "export/" + id + "/" + strconv.Itoa(n) }

// ExportFile returns the file of p's finished export, for download:
// its owner's alone, until it expires; audited as export.download.
func (s *Service) ExportFile(ctx context.Context, p *Principal, id string) (*ExportJob, []byte, error) {
	j, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	switch j.State {
	case ExportDone:
	case ExportExpired:
		return nil, nil, Errorf(EGONE, T("导出文件已过期，请重新导出", "the export has expired; export again"))
	default:
		return nil, nil, Errorf(ECONFLICT, T("导出文件还没有生成", "the export is not ready yet"))
	}
	var buf bytes.Buffer
	for n := range j.Chunks {
		d, err := s.store.FindDoc(ctx, KindExportChunk, exportChunkID(j.ID, n))
		if err != nil {
			return nil, nil, fmt.Errorf("export %s chunk %d: %w", j.ID, n, err)
		}
		var c struct {
			Data []byte `json:"data"`
		}
		if err := DecodeDoc(d, &c); err != nil {
			return nil, nil, err
		}
		data := c.Data
		if s.keys != nil {
			if data, err = s.keys.Open(ctx, j.App, exportChunkAAD(j.ID, n), string(c.Data)); err != nil {
				return nil, nil, fmt.Errorf("export %s chunk %d: %w", j.ID, n, err)
			}
		}
		buf.Write(data)
	}
	ev := s.Event(p, "export.download", j.App, j.Form, j.ID, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"rows": j.Done, "filter": string(j.Request.Filter), "sha256": j.SHA256})
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, nil, err
	}
	return j, buf.Bytes(), nil
}

// HandleExportExpireJob is the JobHandler of JobExportExpire: it deletes
// the export's file and marks it expired. Idempotent.
func (s *Service) HandleExportExpireJob(ctx context.Context, job OutboxJob) error {
	var pl struct {
		Export string `json:"export"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return Permanent(fmt.Errorf("export expire job %s: %w", job.ID, err))
	}
	j, ver, err := s.findExport(ctx, pl.Export)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	var ws []DocWrite
	for n := range j.Chunks {
		ws = append(ws, DocWrite{Doc: Doc{Kind: KindExportChunk, ID: exportChunkID(j.ID, n)}, ExpectVersion: AnyVersion, Delete: true})
	}
	j.State, j.Chunks, j.Updated = ExportExpired, 0, s.now()
	ws = append(ws, exportDoc(j, ver))
	_, err = s.store.Apply(ctx, &Change{Docs: ws})
	return err
}

// TraceExport finds the export whose watermark is tag (administrators and
// the command line, which passes nil). Several exports may share a 32-bit
// tag: all are returned, newest first.
func (s *Service) TraceExport(ctx context.Context, p *Principal, tag string) ([]*ExportJob, error) {
	if p != nil {
		if err := requireAdmin(p); err != nil {
			return nil, s.deny(ctx, p, "export.trace", "", "", "", "not an administrator", err)
		}
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindExportJob, Tag: "tag:" + tag})
	if err != nil {
		return nil, err
	}
	out := newestFirst(docs)
	if p != nil {
		ev := s.Event(p, "export.trace", "", "", tag, nil, ResultOK, "")
		if err := s.audit.Write(ctx, ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TimeZone is the organisation's time zone, in which exports show times.
func (s *Service) TimeZone() *time.Location { return s.zone }
