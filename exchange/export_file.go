package exchange

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"formwork/engine"
	"formwork/web"
)

// Exporter writes the files of exports (the JobRecordExport jobs).
type Exporter struct {
	svc *engine.Service
	// TempDir is where files are written before the engine keeps them
	// ("" = the system's).
	TempDir string
}

// NewExporter returns the exporter of svc's exports.
func NewExporter(svc *engine.Service) *Exporter { return &Exporter{svc: svc} }

// sheetName is the one sheet of an exported workbook.
const sheetName = "Sheet1"

// HandleExportJob is the JobHandler of engine.JobRecordExport: it writes
// the export's file from the records its owner may see now and hands it
// to the engine. Idempotent: a job no longer queued or running does
// nothing. A refusal (the owner lost the permission) fails the export in
// words; other errors retry.
func (x *Exporter) HandleExportJob(ctx context.Context, job engine.OutboxJob) error {
	var pl struct {
		Export string `json:"export"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return engine.Permanent(fmt.Errorf("export job %s: %w", job.ID, err))
	}
	j, ok, err := x.svc.StartExport(ctx, pl.Export)
	if err != nil || !ok {
		return err
	}
	tmp, err := os.CreateTemp(x.TempDir, "formwork-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	rows, err := x.Write(ctx, j, tmp)
	if err != nil {
		switch engine.ErrorCode(err) {
		case engine.EFORBIDDEN, engine.ENOTFOUND, engine.EINVALID, engine.EUNAUTHORIZED:
			return x.svc.FailExport(ctx, j.ID, engine.T(engine.ErrorMessage(err, web.LangZh), engine.ErrorMessage(err, web.LangEn)))
		}
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return x.svc.FinishExport(ctx, j.ID, rows, tmp)
}

// Write writes the file of export j to w and returns how many records it
// holds.
func (x *Exporter) Write(ctx context.Context, j *engine.ExportJob, w io.Writer) (int64, error) {
	lang := j.Request.Lang
	if lang != web.LangEn {
		lang = web.LangZh
	}
	zone := x.svc.TimeZone()
	head := headerLine(j, lang, zone)
	var out sink
	var err error
	if j.Format == engine.ExportCSV {
		out = newCSVSink(w)
	} else if out, err = newXLSXSink(w, j, head, x.TempDir); err != nil {
		return 0, err
	}
	tag := j.Tag
	if j.NoMark {
		tag = ""
	}
	if err := out.row([]any{head + markAll(tag)}); err != nil {
		return 0, err
	}
	var n int64
	wrote := false
	err = x.svc.ExportPages(ctx, j, func(cols []engine.ExportColumn, page []*engine.RecordView, labels []map[string]engine.Text) error {
		if !wrote {
			wrote = true
			names := make([]any, len(cols))
			for i, c := range cols {
				names[i] = c.Field.LabelOr().In(lang)
			}
			if err := out.row(names); err != nil {
				return err
			}
		}
		for i, r := range page {
			row := make([]any, len(cols))
			line := int(n) + 3 // the header line and the column names come first
			for c, col := range cols {
				row[c] = cellValue(lang, zone, col, r.Data[col.Field.Key], labels[i])
				if s, ok := row[c].(string); ok {
					row[c] = markIt(s, tag, line, c)
				}
			}
			if err := out.row(row); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, out.close()
}

// headerLine is the visible watermark: who exported what, when, and the
// export's id.
func headerLine(j *engine.ExportJob, lang string, zone *time.Location) string {
	return web.Msgf(lang, "exp.file_header", j.Name, j.Created.In(zone).Format("2006-01-02 15:04"), zone.String(), j.ID, j.Title.In(lang))
}

// cellValue is a field's value as the list shows it: labels instead of
// ids and option values, times in the organisation's zone, masked values
// as masked; numbers stay numbers.
func cellValue(lang string, zone *time.Location, col engine.ExportColumn, v any, labels map[string]engine.Text) any {
	if v == nil {
		return ""
	}
	fd := col.Field
	if l, ok := labels[fd.Key]; ok {
		return l.In(lang)
	}
	if col.Perm == engine.PermMasked {
		return fmt.Sprint(v)
	}
	switch x := v.(type) {
	case float64, int64, int:
		if len(fd.Options) == 0 {
			return x
		}
	case string:
		if fd.Format == "date-time" {
			if t, err := time.Parse(time.RFC3339, x); err == nil {
				return t.In(zone).Format("2006-01-02 15:04")
			}
		}
	}
	return web.DisplayValue(lang, fd, v)
}

// sink takes the rows of a file.
type sink interface {
	row(cells []any) error
	close() error
}

// csvSink writes UTF-8 CSV with a byte-order mark (so Excel reads Chinese
// right); a text cell that a spreadsheet would take for a formula is
// neutralised with a leading apostrophe.
type csvSink struct {
	bw *bufio.Writer
	cw *csv.Writer
}

func newCSVSink(w io.Writer) *csvSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\uFEFF")
	return &csvSink{bw: bw, cw: csv.NewWriter(bw)}
}

func (s *csvSink) row(cells []any) error {
	rec := make([]string, len(cells))
	for i, c := range cells {
		switch x := c.(type) {
		case string:
			rec[i] = Neutralise(x)
		default:
			rec[i] = fmt.Sprint(x)
		}
	}
	return s.cw.Write(rec)
}

func (s *csvSink) close() error {
	s.cw.Flush()
	if err := s.cw.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// Neutralise keeps a spreadsheet from reading a text cell as a formula:
// one starting with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe.
func Neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// xlsxSink streams the rows into one sheet (excelize's stream writer
// keeps memory bounded) and writes the workbook, with the watermark in
// its properties, on close.
type xlsxSink struct {
	f    *excelize.File
	sw   *excelize.StreamWriter
	w    io.Writer
	next int
}

func newXLSXSink(w io.Writer, j *engine.ExportJob, head, tmp string) (*xlsxSink, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: tmp})
	err := f.SetDocProps(&excelize.DocProperties{Creator: j.Name, LastModifiedBy: j.Name, Identifier: j.ID, Title: j.Title.Zh + " / " + j.Title.En,
		Description: head, Keywords: "formwork-export " + j.ID + " " + j.Tag, Created: j.Created.UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		return nil, err
	}
	return &xlsxSink{f: f, sw: sw, w: w, next: 1}, nil
}

func (s *xlsxSink) row(cells []any) error {
	cell, err := excelize.CoordinatesToCellName(1, s.next)
	if err != nil {
		return err
	}
	s.next++
	return s.sw.SetRow(cell, cells)
}

func (s *xlsxSink) close() error {
	defer s.f.Close()
	if err := s.sw.Flush(); err != nil {
		return err
	}
	_, err := s.f.WriteTo(s.w)
	return err
}
