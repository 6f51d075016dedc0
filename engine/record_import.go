package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"formwork/engine/filter"
)

// KindRecordImport is the doc kind of an import of records from a file:
// its mapping, options and progress (RecordImport).
const KindRecordImport = "record_import"

// KindRecordImportRows is the doc kind of one batch of an import's rows,
// as read from the file, with the errors found in them; sealed under the
// app's data key when the store encrypts.
const KindRecordImportRows = "record_import_rows"

// JobRecordImport is the outbox job that finishes an import of records a
// stopped process left unfinished (the import runs at once in the process
// that took the upload; this is its safety net, marked done by the last
// batch).
const JobRecordImport = "records:import"

// MaxImportRows is the most data rows one import takes; a bigger file is
// refused as a whole, with a message saying to split it.
const MaxImportRows = 50000

// ImportBatchSize is how many rows go into one atomic write (and one
// stored batch of rows).
const ImportBatchSize = 200

// maxImportErrors is how many row errors the import's doc keeps for the
// API and the page; the failed-rows workbook has them all.
const maxImportErrors = 1000

// recordImportTTL is how long an import's rows and report are kept.
const recordImportTTL = 24 * time.Hour

// RecordImport is one import of records from a file into a form, with its
// progress. A dry run checks every row as the real run would and writes
// no record; the same upload may then be run again, for real or with
// another mapping. Each batch of records is written in one atomic write
// together with its revisions, audit events, workflow starts and the
// progress that counts it.
type RecordImport struct {
	ID        string         `json:"id"`
	App       string         `json:"app"`
	Form      string         `json:"form"`
	File      string         `json:"file"`
	Run       int            `json:"run"` // 1 for the first run of the upload, +1 for each run again
	DryRun    bool           `json:"dry_run"`
	KeyField  string         `json:"key_field,omitempty"` // update mode: rows whose key matches a record update it
	Columns   []ImportColumn `json:"columns"`
	Chunks    int            `json:"chunks"`
	State     string         `json:"state"` // queued, running, done, failed
	Rows      int            `json:"rows"`
	Processed int            `json:"processed"`
	Written   int            `json:"written"` // created + updated (a dry run: those that would be)
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Failed    int            `json:"failed"`
	Errors    []ImportError  `json:"errors"`
	Truncated bool           `json:"errors_truncated,omitempty"`
	Error     *Text          `json:"error,omitempty"` // why the whole run stopped
	Actor     string         `json:"actor"`
	IP        string         `json:"ip,omitempty"`
	Started   time.Time      `json:"started"`
	Heartbeat time.Time      `json:"heartbeat"` // the last batch written
	Finished  *time.Time     `json:"finished,omitempty"`
	Expires   time.Time      `json:"expires"`
}

// ImportError is one problem of one row: its number as in the file, the
// column (letter and header) or, for a field no column fills, the field.
type ImportError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Header  string `json:"header,omitempty"`
	Field   string `json:"field,omitempty"`
	Label   Text   `json:"label"` // the field's label, or the header
	Message Text   `json:"message"`
}

// Over reports whether the run has stopped (done or failed).
func (j *RecordImport) Over() bool { return j.State == ImportDone || j.State == ImportFailed }

// importChunk is one stored batch of rows.
type importChunk struct {
	Rows   []ImportRow           `json:"rows,omitempty"`
	Sealed string                `json:"sealed,omitempty"`
	Errors map[int][]ImportError `json:"errors,omitempty"` // by index in Rows, of the last run
}

// RecordImportOptions are the choices of one run of an import.
type RecordImportOptions struct {
	DryRun   bool
	Mapping  map[string]string // column letter → field key ("" to ignore); unlisted columns keep their automatic match
	KeyField string            // update mode
}

func chunkID(job string, i int) string { return job + "-" + strconv.Itoa(i) }

func importDoc(j *RecordImport, ver int64) DocWrite {
	return DocWrite{Doc: Doc{Kind: KindRecordImport, ID: j.ID, Tags: []string{"actor:" + j.Actor}, Value: MustJSON(j)}, ExpectVersion: ver}
}

// importAccess loads the form for an import by p and checks the import
// operation (and update, for update mode); a refusal is audited.
func (s *Service) importAccess(ctx context.Context, p *Principal, app, form string, update bool) (*Bundle, int, *Form, *Access, error) {
	b, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	if !acc.Can(OpImport) {
		if !acc.Can(OpRead) && !acc.Can(OpCreate) {
			return nil, 0, nil, nil, s.deny(ctx, p, "import", app, form, "", "no import permission", notFoundForm(app, form))
		}
		return nil, 0, nil, nil, s.deny(ctx, p, "import", app, form, "", "no import permission", Forbidden(T("无权导入记录", "you may not import records here")))
	}
	if update && !acc.Can(OpUpdate) {
		return nil, 0, nil, nil, s.deny(ctx, p, "import", app, form, "", "update mode needs update permission", Forbidden(T("无权修改记录，不能按关键字段更新", "you may not change records here, so you cannot update by a key field")))
	}
	return b, v, f, acc, nil
}

func importFieldList(fields []*Field) []ImportField {
	out := make([]ImportField, len(fields))
	for i, fd := range fields {
		out[i] = ImportField{Key: fd.Key, Label: fd.LabelOr()}
	}
	return out
}

// ImportFields lists the fields a column of an import into the form may
// fill for p; it needs the import operation (a refusal is audited).
func (s *Service) ImportFields(ctx context.Context, p *Principal, app, form string) ([]ImportField, error) {
	_, _, f, acc, err := s.importAccess(ctx, p, app, form, false)
	if err != nil {
		return nil, err
	}
	return importFieldList(importFields(f, acc)), nil
}

// StartRecordImport stores the rows of an uploaded file as an import into
// a form by p and starts its first run in the background (a dry run if
// opt says so). It needs the import operation (denials are audited);
// EINVALID for an empty table, one over MaxImportRows, or a bad mapping.
func (s *Service) StartRecordImport(ctx context.Context, p *Principal, app, form, file string, t *ImportTable, opt RecordImportOptions) (*RecordImport, error) {
	_, _, f, acc, err := s.importAccess(ctx, p, app, form, opt.KeyField != "")
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, Invalid(FieldError{Field: "/file", Code: "empty", Message: T("文件中没有数据行", "the file has no data rows")})
	}
	if len(t.Rows) > MaxImportRows {
		return nil, Invalid(FieldError{Field: "/file", Code: "too_many_rows", Message: Tf("文件有 %d 行数据，一次最多导入 %d 行；请拆分后分批导入", "the file has %d data rows; one import takes at most %d, so split it", len(t.Rows), MaxImportRows)})
	}
	if err := s.sweepRecordImports(ctx, p); err != nil {
		return nil, err
	}
	now := s.now()
	j := &RecordImport{ID: "rimp-" + NewID(now), App: app, Form: f.Key, File: file, Rows: len(t.Rows), Actor: p.Actor(), IP: p.IP,
		Started: now, Heartbeat: now, Expires: now.Add(recordImportTTL)}
	fields := importFields(f, acc)
	j.Columns = autoColumns(t.Headers, fields)
	if err := s.configureRun(j, f, acc, fields, opt); err != nil {
		return nil, err
	}
	ch := &Change{}
	for i := 0; i*ImportBatchSize < len(t.Rows); i++ {
		rows := t.Rows[i*ImportBatchSize : min((i+1)*ImportBatchSize, len(t.Rows))]
		c, err := s.sealChunk(ctx, app, chunkID(j.ID, i), rows)
		if err != nil {
			return nil, err
		}
		ch.Docs = append(ch.Docs, DocWrite{Doc: Doc{Kind: KindRecordImportRows, ID: chunkID(j.ID, i), Tags: []string{"import:" + j.ID}, Value: MustJSON(c)}})
		j.Chunks++
	}
	ch.Docs = append([]DocWrite{importDoc(j, 0)}, ch.Docs...)
	ch.Outbox = []OutboxJob{s.importOutbox(j, now)}
	ev := s.Event(p, "import", app, f.Key, j.ID, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"file": file, "rows": j.Rows, "dry_run": j.DryRun, "run": j.Run})
	ch.Audit = []*AuditEvent{ev}
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return nil, err
	}
	s.startRecordImport(j.ID)
	return j, nil
}

// sweepRecordImports removes p's imports that have expired, with their
// rows: each new import of a user clears the old ones, so an upload's
// rows are not kept much longer than recordImportTTL.
func (s *Service) sweepRecordImports(ctx context.Context, p *Principal) error {
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindRecordImport, Tag: "actor:" + p.Actor()})
	if err != nil {
		return err
	}
	ch := &Change{}
	for _, d := range docs {
		var j RecordImport
		if err := DecodeDoc(d, &j); err != nil {
			return err
		}
		if !j.Over() || !s.now().After(j.Expires) {
			continue
		}
		rows, err := s.store.FindDocs(ctx, DocQuery{Kind: KindRecordImportRows, Tag: "import:" + j.ID})
		if err != nil {
			return err
		}
		for _, r := range rows {
			ch.Docs = append(ch.Docs, DocWrite{Doc: Doc{Kind: r.Kind, ID: r.ID}, ExpectVersion: r.Version, Delete: true})
		}
		ch.Docs = append(ch.Docs, DocWrite{Doc: Doc{Kind: d.Kind, ID: d.ID}, ExpectVersion: d.Version, Delete: true})
	}
	if len(ch.Docs) == 0 {
		return nil
	}
	_, err = s.store.Apply(ctx, ch)
	return err
}

// configureRun resets j for its next run with opt.
func (s *Service) configureRun(j *RecordImport, f *Form, acc *Access, fields []*Field, opt RecordImportOptions) error {
	if len(opt.Mapping) > 0 {
		if err := applyMapping(j.Columns, opt.Mapping, fields); err != nil {
			return err
		}
	}
	if opt.KeyField != "" {
		mapped := false
		for _, c := range j.Columns {
			mapped = mapped || c.Field == opt.KeyField
		}
		fd := f.Field(opt.KeyField)
		if fd == nil || !mapped || (fd.Type != "string" && fd.Type != "number" && fd.Type != "integer") ||
			(acc.Field(opt.KeyField) != PermEdit && acc.Field(opt.KeyField) != PermRead) {
			return Invalid(FieldError{Field: "/key", Code: "key", Message: T("关键字段须是文件中有对应列、你可以完整查看的文本或数字字段", "the key field must be a text or number field you can see in full, with a column in the file")})
		}
	}
	mapped := false
	for _, c := range j.Columns {
		mapped = mapped || c.Field != ""
	}
	if !mapped {
		return Invalid(FieldError{Field: "/mapping", Code: "no_columns", Message: T("没有任何列对应到字段；请在对应关系中选择字段", "no column goes into a field: choose fields in the mapping")})
	}
	j.Run++
	j.DryRun, j.KeyField = opt.DryRun, opt.KeyField
	j.State, j.Processed, j.Written, j.Created, j.Updated, j.Failed = ImportQueued, 0, 0, 0, 0, 0
	j.Errors, j.Truncated, j.Error, j.Finished = []ImportError{}, false, nil, nil
	return nil
}

func (s *Service) importOutbox(j *RecordImport, now time.Time) OutboxJob {
	return OutboxJob{ID: j.ID + "-r" + strconv.Itoa(j.Run), Type: JobRecordImport,
		Payload: MustJSON(map[string]any{"job": j.ID, "run": j.Run}), RunAt: now.Add(importResumeDelay), CreatedAt: now}
}

func (s *Service) sealChunk(ctx context.Context, app, id string, rows []ImportRow) (*importChunk, error) {
	if s.keys == nil {
		return &importChunk{Rows: rows}, nil
	}
	sealed, err := s.keys.Seal(ctx, app, KindRecordImportRows+"/"+id, MustJSON(rows))
	if err != nil {
		return nil, fmt.Errorf("import %s: seal rows: %w", id, err)
	}
	return &importChunk{Sealed: sealed}, nil
}

func (s *Service) openChunk(ctx context.Context, app, id string) (*importChunk, error) {
	d, err := s.store.FindDoc(ctx, KindRecordImportRows, id)
	if err != nil {
		return nil, err
	}
	var c importChunk
	if err := DecodeDoc(d, &c); err != nil {
		return nil, err
	}
	if c.Sealed != "" {
		b, err := s.keys.Open(ctx, app, KindRecordImportRows+"/"+id, c.Sealed)
		if err != nil {
			return nil, fmt.Errorf("import %s: open rows: %w", id, err)
		}
		if err := json.Unmarshal(b, &c.Rows); err != nil {
			return nil, fmt.Errorf("import %s: rows: %w", id, err)
		}
	}
	return &c, nil
}

func (s *Service) findRecordImport(ctx context.Context, id string) (*RecordImport, int64, error) {
	d, err := s.store.FindDoc(ctx, KindRecordImport, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, 0, Errorf(ENOTFOUND, T("导入任务不存在", "no such import"))
		}
		return nil, 0, err
	}
	var j RecordImport
	if err := DecodeDoc(d, &j); err != nil {
		return nil, 0, err
	}
	return &j, d.Version, nil
}

// RecordImport returns an import with its progress and report; only the
// user who started it may read it (ENOTFOUND for anyone else).
func (s *Service) RecordImport(ctx context.Context, p *Principal, id string) (*RecordImport, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	j, _, err := s.findRecordImport(ctx, id)
	if err != nil || j.Actor != p.User.ID {
		return nil, Errorf(ENOTFOUND, T("导入任务不存在", "no such import"))
	}
	if err := CheckTokenApp(p, j.App); err != nil {
		return nil, err
	}
	return j, nil
}

// RunRecordImport runs an import again on its stored rows with other
// options: a dry run with another mapping, or the real run after a dry
// run. Only the user who started it, while they still hold the import
// operation; ECONFLICT while it runs or once a real run finished.
func (s *Service) RunRecordImport(ctx context.Context, p *Principal, id string, opt RecordImportOptions) (*RecordImport, error) {
	j, err := s.RecordImport(ctx, p, id)
	if err != nil {
		return nil, err
	}
	_, ver, err := s.findRecordImport(ctx, id)
	if err != nil {
		return nil, err
	}
	_, _, f, acc, err := s.importAccess(ctx, p, j.App, j.Form, opt.KeyField != "")
	if err != nil {
		return nil, err
	}
	if !j.Over() {
		return nil, Errorf(ECONFLICT, T("导入正在进行，请等它结束", "the import is running: wait for it to finish"))
	}
	if !j.DryRun && j.State == ImportDone {
		return nil, Errorf(ECONFLICT, T("这个文件已经导入过了；如需再导入请重新上传", "this file was imported already: upload it again to import it again"))
	}
	if !j.DryRun && j.Written > 0 {
		// a real run that stopped part-way: running it again would write its first rows twice
		return nil, Errorf(ECONFLICT, Tf("这个文件的前 %d 行已经导入；请核对列表后只上传其余的行", "the first %d rows of this file were imported already: check the list and upload only the rest", j.Processed))
	}
	if s.now().After(j.Expires) {
		return nil, Errorf(ECONFLICT, T("上传的文件已过期，请重新上传", "the upload has expired: upload the file again"))
	}
	if err := s.configureRun(j, f, acc, importFields(f, acc), opt); err != nil {
		return nil, err
	}
	now := s.now()
	j.Heartbeat = now
	ev := s.Event(p, "import", j.App, j.Form, j.ID, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"file": j.File, "rows": j.Rows, "dry_run": j.DryRun, "run": j.Run})
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{importDoc(j, ver)}, Outbox: []OutboxJob{s.importOutbox(j, now)}, Audit: []*AuditEvent{ev}}); err != nil {
		return nil, err
	}
	s.startRecordImport(j.ID)
	return j, nil
}

// ImportFailure is one row an import could not write, as in the file,
// with its errors: what the failed-rows workbook holds.
type ImportFailure struct {
	Row    ImportRow
	Errors []ImportError
}

// RecordImportFailures returns the import's headers and the rows its last
// run could not write (only the user who started it); the download is
// audited.
func (s *Service) RecordImportFailures(ctx context.Context, p *Principal, id string) (*RecordImport, []string, []ImportFailure, error) {
	j, err := s.RecordImport(ctx, p, id)
	if err != nil {
		return nil, nil, nil, err
	}
	headers := make([]string, len(j.Columns))
	for i, c := range j.Columns {
		headers[i] = c.Header
	}
	var out []ImportFailure
	for i := 0; i < j.Chunks; i++ {
		c, err := s.openChunk(ctx, j.App, chunkID(j.ID, i))
		if err != nil {
			return nil, nil, nil, err
		}
		for k, row := range c.Rows {
			if errs := c.Errors[k]; len(errs) > 0 {
				out = append(out, ImportFailure{Row: row, Errors: errs})
			}
		}
	}
	ev := s.Event(p, "import.report", j.App, j.Form, j.ID, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"rows": len(out)})
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, nil, nil, err
	}
	return j, headers, out, nil
}

// errRecordImportBusy says another runner holds the import; retry later.
var errRecordImportBusy = errors.New("record import is running elsewhere")

// HandleRecordImportJob is the JobHandler of JobRecordImport: it finishes
// a run whose runner stopped (idempotent: a finished run, or one a later
// run replaced, is left alone; one whose runner still beats is retried).
func (s *Service) HandleRecordImportJob(ctx context.Context, job OutboxJob) error {
	var pl struct {
		Job string `json:"job"`
		Run int    `json:"run"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil || pl.Job == "" {
		return fmt.Errorf("record import job %s: bad payload", job.ID)
	}
	j, _, err := s.findRecordImport(ctx, pl.Job)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return err
	}
	if j.Over() || j.Run != pl.Run {
		return nil
	}
	if j.State == ImportRunning && s.now().Sub(j.Heartbeat) < importLease {
		return errRecordImportBusy
	}
	_, err = s.runRecordImport(ctx, pl.Job, nil)
	if ErrorCode(err) == EINVALID || ErrorCode(err) == EFORBIDDEN || ErrorCode(err) == ELOCKED {
		return nil // recorded as failed; running it again cannot help
	}
	return err
}

// startRecordImport runs the import in the background of this process;
// Close stops it (the outbox job resumes it later).
func (s *Service) startRecordImport(id string) {
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		_, _ = s.runRecordImport(s.jobCtx, id, nil) // the outcome is in the import's doc
	}()
}

// importRun is the state of one runner of an import.
type importRun struct {
	s      *Service
	p      *Principal
	b      *Bundle
	v      int
	f      *Form
	acc    *Access
	j      *RecordImport
	cols   []importCol
	key    *importCol // update mode
	look   importLookups
	seen   map[string]int // update mode: key value → the row that used it first
	reason string         // the audit reason of the records it writes
}

type importCol struct {
	ImportColumn
	fd *Field
}

// runRecordImport checks and (unless a dry run) writes the import's rows
// from where its progress says, one stored batch per atomic write with
// the import's doc checked against the version it read, so two runners
// never both write a batch. report, if set, sees the progress after each
// batch.
func (s *Service) runRecordImport(ctx context.Context, id string, report func(RecordImport)) (*RecordImport, error) {
	j, ver, err := s.findRecordImport(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Over() {
		return j, nil
	}
	flush := func(ch *Change, final bool) error {
		now := s.now()
		j.Heartbeat = now
		if final {
			j.State, j.Finished = ImportDone, &now
			ch.OutboxDone = []string{j.ID + "-r" + strconv.Itoa(j.Run)}
		}
		ch.Docs = append([]DocWrite{importDoc(j, ver)}, ch.Docs...)
		res, err := s.store.Apply(ctx, ch)
		if err != nil {
			return err
		}
		ver = res.Docs[0].Version
		if report != nil {
			report(*j)
		}
		return nil
	}
	saved := *j
	fail := func(cause error) (*RecordImport, error) {
		if ErrorCode(cause) == ECONFLICT || ctx.Err() != nil {
			return j, cause // another runner has it, or we were stopped: the outbox resumes
		}
		now := s.now()
		msg := T("导入因内部错误中止，已写入的批次保留；请稍后重试", "the import stopped on an internal error; the batches written so far are kept; try again later")
		if code := ErrorCode(cause); code != EINTERNAL {
			msg = T(ErrorMessage(cause, "zh"), ErrorMessage(cause, "en"))
		}
		if fes := ErrorFields(cause); len(fes) > 0 {
			msg = fes[0].Message
		}
		*j = saved
		j.State, j.Error, j.Finished, j.Heartbeat = ImportFailed, &msg, &now, now
		ch := &Change{Docs: []DocWrite{importDoc(j, ver)}, OutboxDone: []string{j.ID + "-r" + strconv.Itoa(j.Run)}}
		if _, err := s.store.Apply(ctx, ch); err != nil {
			return j, err
		}
		if report != nil {
			report(*j)
		}
		return j, cause
	}
	j.State = ImportRunning
	if err := flush(&Change{}, false); err != nil { // claim it: a heartbeat before the first batch
		return fail(err)
	}
	saved = *j
	r, err := s.newImportRun(ctx, j)
	if err != nil {
		return fail(err)
	}
	for ci := j.Processed / ImportBatchSize; ci < j.Chunks; ci++ {
		if err := ctx.Err(); err != nil {
			return j, err
		}
		ch, err := r.batch(ctx, ci)
		if err != nil {
			return fail(err)
		}
		if err := flush(ch, ci == j.Chunks-1); err != nil {
			return fail(err)
		}
		saved = *j
	}
	if j.Chunks == 0 {
		if err := flush(&Change{}, true); err != nil {
			return fail(err)
		}
	}
	return j, nil
}

// newImportRun loads what a run needs: the importing user as they are now
// (a frozen user or one who lost the import operation stops the run), the
// form, and the columns' fields.
func (s *Service) newImportRun(ctx context.Context, j *RecordImport) (*importRun, error) {
	u, err := s.org.FindUserByID(ctx, j.Actor)
	if err != nil {
		return nil, err
	}
	p := &Principal{User: u, IP: j.IP}
	b, v, f, acc, err := s.importAccess(ctx, p, j.App, j.Form, j.KeyField != "")
	if err != nil {
		return nil, err
	}
	r := &importRun{s: s, p: p, b: b, v: v, f: f, acc: acc, j: j, seen: map[string]int{}, reason: "import " + j.ID}
	r.look = importLookups{s: s, p: p, b: b}
	for _, c := range j.Columns {
		if c.Field == "" {
			continue
		}
		fd := f.Field(c.Field)
		if fd == nil || !importable(fd) || acc.Field(c.Field) == PermHidden {
			return nil, Invalid(FieldError{Field: "/mapping/" + c.Letter, Code: "unknown_field", Message: Tf("%s 列对应的字段已不存在或不能导入", "the field of column %s no longer exists or cannot be imported", c.Letter)})
		}
		r.cols = append(r.cols, importCol{ImportColumn: c, fd: fd})
	}
	for i := range r.cols {
		if r.cols[i].Field == j.KeyField && j.KeyField != "" {
			r.key = &r.cols[i]
		}
	}
	return r, nil
}

// batch checks the rows of stored batch ci and returns the change that
// writes the valid ones (none on a dry run) and the batch's errors; j's
// counters move on.
func (r *importRun) batch(ctx context.Context, ci int) (*Change, error) {
	j := r.j
	c, err := r.s.openChunk(ctx, j.App, chunkID(j.ID, ci))
	if err != nil {
		return nil, err
	}
	out := &Change{}
	c.Errors = map[int][]ImportError{}
	for k, row := range c.Rows {
		ch, updated, errs, err := r.row(ctx, row)
		if err != nil {
			return nil, err
		}
		j.Processed++
		if len(errs) > 0 {
			c.Errors[k] = errs
			j.Failed++
			for _, e := range errs {
				if len(j.Errors) < maxImportErrors {
					j.Errors = append(j.Errors, e)
				} else {
					j.Truncated = true
				}
			}
			continue
		}
		j.Written++
		if updated {
			j.Updated++
		} else {
			j.Created++
		}
		if j.DryRun {
			continue
		}
		for _, ev := range ch.Audit {
			if ev.Reason == "" {
				ev.Reason = r.reason
			}
		}
		out.Records = append(out.Records, ch.Records...)
		out.Docs = append(out.Docs, ch.Docs...)
		out.Audit = append(out.Audit, ch.Audit...)
		out.Outbox = append(out.Outbox, ch.Outbox...)
		out.OutboxDone = append(out.OutboxDone, ch.OutboxDone...)
	}
	stored := &importChunk{Rows: c.Rows, Sealed: c.Sealed, Errors: c.Errors}
	if c.Sealed != "" {
		stored.Rows = nil
	}
	out.Docs = append(out.Docs, DocWrite{Doc: Doc{Kind: KindRecordImportRows, ID: chunkID(j.ID, ci), Tags: []string{"import:" + j.ID}, Value: MustJSON(stored)}, ExpectVersion: AnyVersion})
	return out, nil
}

// row reads one row into a record's data and prepares its write as
// CreateRecord (or, in update mode on a matching record, UpdateRecord)
// would: field permissions, the form's rules, hooks. Problems come back
// as the row's errors; err is for a failing store.
func (r *importRun) row(ctx context.Context, row ImportRow) (*Change, bool, []ImportError, error) {
	var errs []ImportError
	data := map[string]any{}
	byField := map[string]*importCol{}
	for i := range r.cols {
		col := &r.cols[i]
		byField[col.Field] = col
		if col.Index >= len(row.Cells) || strings.TrimSpace(row.Cells[col.Index]) == "" {
			continue
		}
		v, msg, err := r.look.cellValue(ctx, col.fd, row.Cells[col.Index])
		if err != nil {
			return nil, false, nil, err
		}
		if msg != nil {
			errs = append(errs, r.colError(row.N, col, *msg))
			continue
		}
		data[col.Field] = v
	}
	if len(errs) > 0 {
		return nil, false, errs, nil
	}
	var prev *Record
	if r.key != nil {
		kv, ok := data[r.key.Field]
		if ok {
			k := fmt.Sprint(kv)
			if first, dup := r.seen[k]; dup {
				return nil, false, []ImportError{r.colError(row.N, r.key, Tf("与第 %d 行的关键字段相同", "the same key as row %d", first))}, nil
			}
			r.seen[k] = row.N
			typ := filterType(r.key.fd)
			found, err := r.s.findByField(ctx, r.j.App, r.f, r.acc, r.key.Field, typ, kv, 2)
			if err != nil {
				return nil, false, nil, err
			}
			switch len(found) {
			case 1:
				prev = found[0]
			case 2:
				return nil, false, []ImportError{r.colError(row.N, r.key, T("有多条记录的关键字段是这个值，无法确定更新哪一条", "several records have this key: which one to update is unclear"))}, nil
			}
		}
	}
	now := r.s.now()
	if prev != nil {
		if prev.Status == StatusInReview && !r.p.User.Admin {
			return nil, false, []ImportError{r.colError(row.N, r.key, T("要更新的记录正在审批中", "the record to update is under review"))}, nil
		}
		if err := checkWritable(r.f, r.acc, data, prev.Data); err != nil {
			return nil, false, r.ruleErrors(row.N, byField, err), nil
		}
		_, ch, err := r.s.updateChange(ctx, r.p, r.b, r.v, r.f, r.acc, prev, data, now)
		if err != nil {
			return r.rowFailure(row.N, byField, err)
		}
		return ch, true, nil, nil
	}
	if err := checkWritable(r.f, r.acc, data, nil); err != nil {
		return nil, false, r.ruleErrors(row.N, byField, err), nil
	}
	_, ch, err := r.s.createChange(ctx, r.p, r.b, r.v, r.f, r.acc, data, now)
	if err != nil {
		return r.rowFailure(row.N, byField, err)
	}
	return ch, false, nil, nil
}

func (r *importRun) rowFailure(n int, byField map[string]*importCol, err error) (*Change, bool, []ImportError, error) {
	switch ErrorCode(err) {
	case EINVALID, EFORBIDDEN, ECONFLICT:
		return nil, false, r.ruleErrors(n, byField, err), nil
	}
	return nil, false, nil, err
}

func filterType(fd *Field) filter.Type {
	if fd.Type == "number" || fd.Type == "integer" {
		return filter.TypeNumber
	}
	return filter.TypeString
}

func labelMsg(zh, en string, label Text) Text {
	return T(fmt.Sprintf(zh, label.Zh), fmt.Sprintf(en, label.En))
}

func (r *importRun) colError(n int, col *importCol, msg Text) ImportError {
	return ImportError{Row: n, Column: col.Letter, Header: col.Header, Field: col.Field, Label: col.fd.LabelOr(), Message: msg}
}

// ruleErrors turns a refusal of the row into its errors, each on the
// column of its field when a column fills it, in words for staff.
func (r *importRun) ruleErrors(n int, byField map[string]*importCol, err error) []ImportError {
	fes := ErrorFields(err)
	if len(fes) == 0 {
		return []ImportError{{Row: n, Label: T("整行", "row"), Message: T(ErrorMessage(err, "zh"), ErrorMessage(err, "en"))}}
	}
	out := make([]ImportError, 0, len(fes))
	for _, fe := range fes {
		key := strings.TrimPrefix(fe.Field, "/")
		if i := strings.IndexByte(key, '/'); i >= 0 {
			key = key[:i]
		}
		fd := r.f.Field(key)
		e := ImportError{Row: n, Message: importMessage(fd, fe)}
		switch {
		case byField[key] != nil:
			col := byField[key]
			e.Column, e.Header, e.Field, e.Label = col.Letter, col.Header, col.Field, col.fd.LabelOr()
		case fd != nil && r.acc.Field(key) != PermHidden:
			e.Field, e.Label = key, fd.LabelOr()
		default:
			e.Label = T("整行", "row")
		}
		out = append(out, e)
	}
	return out
}

// importMessage says what is wrong with a field's value in words for
// staff: the rules' own messages (required, checks) as they are, schema
// keywords (a pattern's regular expression, a type name) rephrased.
func importMessage(fd *Field, fe FieldError) Text {
	label := T("此项", "this value")
	if fd != nil {
		label = fd.LabelOr()
	}
	switch fe.Code {
	case "forbidden":
		return labelMsg("你无权填写“%s”", "you may not fill in “%s”", label)
	case "pattern", "format":
		if fd != nil {
			switch fd.Widget {
			case WidgetPhone:
				return labelMsg("“%s”不是有效的手机号码", "“%s” is not a valid mobile number", label)
			case WidgetEmail:
				return labelMsg("“%s”不是有效的邮箱地址", "“%s” is not a valid email address", label)
			case WidgetIDNumber:
				return labelMsg("“%s”不是有效的身份证号码", "“%s” is not a valid ID number", label)
			}
		}
		return labelMsg("“%s”的格式不正确", "“%s” is not in the right format", label)
	case "type":
		return labelMsg("“%s”的类型不对", "“%s” has the wrong kind of value", label)
	case "enum":
		return labelMsg("“%s”不在选项中", "“%s” is not one of the options", label)
	case "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems":
		return labelMsg("“%s”超出允许的范围", "“%s” is out of the allowed range", label)
	case "required":
		return labelMsg("请填写“%s”", "“%s” is required", label)
	case "unknown_field":
		return T("包含表单中没有的字段", "has a field the form does not have")
	}
	return fe.Message
}
