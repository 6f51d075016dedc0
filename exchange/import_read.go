package exchange

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"formwork/engine"
)

// Limits of what ReadTable takes from an uploaded file. A file beyond them
// is refused as a whole with a message saying which limit it passed.
const (
	// MaxImportFileSize is the most bytes an uploaded file may have.
	MaxImportFileSize = 20 << 20
	// MaxUnzippedSize is the most bytes an .xlsx may unpack to, all parts
	// together: a zip bomb stops here, not in memory.
	MaxUnzippedSize = 200 << 20
	// MaxZipEntries is the most parts an .xlsx may have.
	MaxZipEntries = 1000
	// MaxImportColumns is the most columns a sheet may use.
	MaxImportColumns = 200
	// MaxCellLength is the longest cell, in characters (Excel's own limit).
	MaxCellLength = 32767
)

// Format is the kind of an uploaded file.
type Format string

// The formats ReadTable reads.
const (
	FormatXLSX Format = "xlsx"
	FormatCSV  Format = "csv"
)

// DetectFormat tells an .xlsx (a zip) from a .csv by the bytes, the name
// breaking no ties but naming what the user meant when the bytes are
// neither; "" when it is neither.
func DetectFormat(name string, data []byte) Format {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return FormatXLSX
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".txt":
		return FormatCSV
	case ".xlsx", ".xlsm", ".xls", ".zip":
		return ""
	}
	if utf8.Valid(data) || !bytes.Contains(data, []byte{0}) {
		return FormatCSV
	}
	return ""
}

func refuse(code string, msg engine.Text) error {
	return engine.Invalid(engine.FieldError{Field: "/file", Code: code, Message: msg})
}

var errTooManyRows = refuse("too_many_rows", engine.Tf("文件超过 %d 行数据；请拆分后分批导入", "the file has more than %d data rows: split it and import the parts one by one", engine.MaxImportRows))

// ReadTable reads the first sheet of an .xlsx, or a .csv, into a table:
// the first non-empty row is the header, every later non-empty row a data
// row numbered as in the file. Cells are text as the file holds it:
// numbers unformatted (a date as its serial number), a formula as its
// text ("=SUM(A1:A3)"), never evaluated. It refuses (EINVALID, with a
// message for the person who uploaded it) a file of another kind, an
// empty one, one over the limits above or over engine.MaxImportRows rows,
// and one it cannot read; it never panics on any input.
func ReadTable(name string, data []byte) (*engine.ImportTable, error) {
	if len(data) > MaxImportFileSize {
		return nil, refuse("too_large", engine.Tf("文件超过 %d MB", "the file is larger than %d MB", MaxImportFileSize>>20))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, refuse("empty", engine.T("文件是空的", "the file is empty"))
	}
	var rows [][]string
	var nums []int
	var err error
	switch DetectFormat(name, data) {
	case FormatXLSX:
		rows, nums, err = readXLSX(data)
	case FormatCSV:
		rows, nums, err = readCSV(data)
	default:
		return nil, refuse("format", engine.T("只能导入 .xlsx 或 .csv 文件（旧的 .xls 请先另存为 .xlsx）", "only .xlsx and .csv files can be imported (save an old .xls as .xlsx first)"))
	}
	if err != nil {
		return nil, err
	}
	return toTable(rows, nums)
}

// toTable picks the header (the first row with a cell) and the data rows.
func toTable(rows [][]string, nums []int) (*engine.ImportTable, error) {
	t := &engine.ImportTable{}
	header := -1
	for i, r := range rows {
		if blank(r) {
			continue
		}
		if header < 0 {
			header = i
			t.Headers = trimTail(r)
			for k := range t.Headers {
				t.Headers[k] = strings.TrimSpace(t.Headers[k])
			}
			continue
		}
		t.Rows = append(t.Rows, engine.ImportRow{N: nums[i], Cells: r})
	}
	if header < 0 {
		return nil, refuse("empty", engine.T("文件是空的", "the file is empty"))
	}
	if len(t.Rows) == 0 {
		return nil, refuse("no_rows", engine.T("文件只有标题行，没有数据行", "the file has a header row but no data rows"))
	}
	width := len(t.Headers)
	for _, r := range t.Rows {
		width = max(width, len(r.Cells))
	}
	for len(t.Headers) < width {
		t.Headers = append(t.Headers, "")
	}
	return t, nil
}

func blank(r []string) bool {
	for _, c := range r {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func trimTail(r []string) []string {
	n := len(r)
	for n > 0 && strings.TrimSpace(r[n-1]) == "" {
		n--
	}
	return append([]string(nil), r[:n]...)
}

// checkRow holds one row to the column and cell limits.
func checkRow(r []string) error {
	if len(trimTail(r)) > MaxImportColumns {
		return refuse("too_many_columns", engine.Tf("文件超过 %d 列", "the file has more than %d columns", MaxImportColumns))
	}
	for _, c := range r {
		if len(c) > MaxCellLength && utf8.RuneCountInString(c) > MaxCellLength {
			return refuse("cell_too_long", engine.Tf("有单元格超过 %d 个字符", "a cell is longer than %d characters", MaxCellLength))
		}
	}
	return nil
}

// readCSV reads a .csv in UTF-8 (with or without a byte-order mark) or,
// as Excel in Chinese saves it, GB18030.
func readCSV(data []byte) ([][]string, []int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || !utf8.Valid(dec) {
			return nil, nil, refuse("encoding", engine.T("文件编码无法识别，请存为 UTF-8 编码的 CSV", "the file's encoding is not recognised: save it as CSV in UTF-8"))
		}
		data = dec
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	var rows [][]string
	var nums []int
	dataRows := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, nil, refuse("csv", engine.Tf("CSV 文件第 %d 行无法解析（引号不成对？）", "line %d of the CSV file cannot be read (unbalanced quotes?)", line))
		}
		if err := checkRow(rec); err != nil {
			return nil, nil, err
		}
		if blank(rec) {
			continue
		}
		if dataRows++; dataRows > engine.MaxImportRows+1 { // the header and the rows under it
			return nil, nil, errTooManyRows
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, rec)
		nums = append(nums, line)
	}
	return rows, nums, nil
}
