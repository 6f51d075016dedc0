package exchange

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	"formwork/engine"
)

// The .xlsx reader is our own small streaming reader of the first
// worksheet rather than excelize's: excelize's row iterator gives a
// formula cell's cached result, never its text, and we import a formula
// as the text it is. It reads the zip through budgets (MaxZipEntries,
// MaxUnzippedSize, counted on the bytes actually inflated), so a zip bomb
// is refused after at most MaxUnzippedSize bytes of work; encoding/xml
// expands no external entities.

var errNotXLSX = refuse("format", engine.T("文件不是有效的 .xlsx 工作簿", "the file is not a valid .xlsx workbook"))

var errUnzipped = refuse("too_large", engine.Tf("工作簿解压后超过 %d MB，无法导入", "the workbook unpacks to more than %d MB and cannot be imported", MaxUnzippedSize>>20))

// budget counts the bytes inflated from the zip against MaxUnzippedSize.
type budget struct{ left int64 }

type budgetReader struct {
	r io.Reader
	b *budget
}

func (br budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	br.b.left -= int64(n)
	if br.b.left < 0 {
		return n, errUnzipped
	}
	return n, err
}

type xlsxReader struct {
	files map[string]*zip.File // by lower-case name
	b     budget
}

func (x *xlsxReader) open(name string) (io.ReadCloser, error) {
	f := x.files[strings.ToLower(name)]
	if f == nil {
		return nil, errNotXLSX
	}
	rc, err := f.Open()
	if err != nil {
		return nil, errNotXLSX
	}
	return struct {
		io.Reader
		io.Closer
	}{budgetReader{rc, &x.b}, rc}, nil
}

// readXLSX returns the rows of the first worksheet with their numbers.
func readXLSX(data []byte) ([][]string, []int, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, errNotXLSX
	}
	if len(zr.File) > MaxZipEntries {
		return nil, nil, errNotXLSX
	}
	x := &xlsxReader{files: map[string]*zip.File{}, b: budget{left: MaxUnzippedSize}}
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		x.files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))] = f
	}
	if declared > MaxUnzippedSize {
		return nil, nil, errUnzipped
	}
	sheet, err := x.firstSheet()
	if err != nil {
		return nil, nil, err
	}
	sst, err := x.sharedStrings()
	if err != nil {
		return nil, nil, err
	}
	return x.sheetRows(sheet, sst)
}

// firstSheet finds the part of the workbook's first sheet.
func (x *xlsxReader) firstSheet() (string, error) {
	const fallback = "xl/worksheets/sheet1.xml"
	var rid string
	if err := x.each("xl/workbook.xml", func(d *xml.Decoder, se xml.StartElement) error {
		if se.Name.Local == "sheet" && rid == "" {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					rid = a.Value
				}
			}
		}
		return nil
	}); err != nil {
		return "", err
	}
	target := ""
	if rid != "" {
		if err := x.each("xl/_rels/workbook.xml.rels", func(d *xml.Decoder, se xml.StartElement) error {
			if se.Name.Local != "Relationship" {
				return nil
			}
			var id, t string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "Id":
					id = a.Value
				case "Target":
					t = a.Value
				}
			}
			if id == rid {
				target = t
			}
			return nil
		}); err != nil && !errors.Is(err, errNotXLSX) {
			return "", err
		}
	}
	switch {
	case target == "":
		return fallback, nil
	case strings.HasPrefix(target, "/"):
		return strings.TrimPrefix(target, "/"), nil
	}
	return path.Join("xl", target), nil
}

// each streams the start elements of a part to fn.
func (x *xlsxReader) each(name string, fn func(*xml.Decoder, xml.StartElement) error) error {
	rc, err := x.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	d := xml.NewDecoder(rc)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xmlError(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if err := fn(d, se); err != nil {
				return err
			}
		}
	}
}

func xmlError(err error) error {
	if errors.Is(err, errUnzipped) {
		return errUnzipped
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		return err
	}
	return errNotXLSX
}

// sharedStrings reads the shared string table (none is fine): each item's
// text runs joined, phonetic guides left out.
func (x *xlsxReader) sharedStrings() ([]string, error) {
	if x.files["xl/sharedstrings.xml"] == nil {
		return nil, nil
	}
	var out []string
	err := x.each("xl/sharedStrings.xml", func(d *xml.Decoder, se xml.StartElement) error {
		if se.Name.Local != "si" {
			return nil
		}
		s, err := itemText(d, "si")
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// itemText collects the <t> text inside the element end closes, skipping
// phonetic runs (<rPh>).
func itemText(d *xml.Decoder, end string) (string, error) {
	var sb strings.Builder
	inT, skip := false, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return "", xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inT = true
			case "rPh":
				skip++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inT = false
			case "rPh":
				skip--
			case end:
				return sb.String(), nil
			}
		case xml.CharData:
			if inT && skip == 0 {
				if sb.Len()+len(t) > 4*MaxCellLength {
					return "", refuse("cell_too_long", engine.Tf("有单元格超过 %d 个字符", "a cell is longer than %d characters", MaxCellLength))
				}
				sb.Write(t)
			}
		}
	}
}

// maxSheetRow is the last row a worksheet has (Excel's limit).
const maxSheetRow = 1 << 20

// sheetRows streams the worksheet's rows.
func (x *xlsxReader) sheetRows(name string, sst []string) ([][]string, []int, error) {
	var rows [][]string
	var nums []int
	rowNum, dataRows := 0, 0
	var cur []string
	flush := func() error {
		if cur == nil || blank(cur) {
			cur = nil
			return nil
		}
		if err := checkRow(cur); err != nil {
			return err
		}
		if dataRows++; dataRows > engine.MaxImportRows+1 {
			return errTooManyRows
		}
		rows, nums = append(rows, cur), append(nums, rowNum)
		cur = nil
		return nil
	}
	col := 0
	err := x.each(name, func(d *xml.Decoder, se xml.StartElement) error {
		switch se.Name.Local {
		case "row":
			if err := flush(); err != nil {
				return err
			}
			n := rowNum + 1
			if r := attr(se, "r"); r != "" {
				v, err := strconv.Atoi(r)
				if err != nil || v < 1 || v > maxSheetRow {
					return errNotXLSX
				}
				n = v
			}
			rowNum, col, cur = n, 0, []string{}
		case "c":
			if cur == nil {
				return errNotXLSX
			}
			c := col + 1
			if ref := attr(se, "r"); ref != "" {
				v, ok := refColumn(ref)
				if !ok {
					return errNotXLSX
				}
				c = v
			}
			if c > MaxImportColumns {
				return refuse("too_many_columns", engine.Tf("文件超过 %d 列", "the file has more than %d columns", MaxImportColumns))
			}
			col = c
			val, err := cellText(d, attr(se, "t"), sst)
			if err != nil {
				return err
			}
			for len(cur) < c {
				cur = append(cur, "")
			}
			cur[c-1] = val
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return rows, nums, nil
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// refColumn reads the 1-based column of a cell reference such as "AB12".
func refColumn(ref string) (int, bool) {
	c, i := 0, 0
	for ; i < len(ref) && ref[i] >= 'A' && ref[i] <= 'Z'; i++ {
		c = c*26 + int(ref[i]-'A'+1)
		if c > 1<<14 {
			return 0, false
		}
	}
	if i == 0 {
		return 0, false
	}
	return c, true
}

// cellText reads one <c> element: a formula as "=" and its text, else
// the value as stored (a shared or inline string, TRUE/FALSE, an error
// such as #N/A, a number unformatted).
func cellText(d *xml.Decoder, typ string, sst []string) (string, error) {
	var v, f, inline strings.Builder
	var in string
	hasF := false
	for {
		tok, err := d.Token()
		if err != nil {
			return "", xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v", "f":
				in = t.Name.Local
				hasF = hasF || in == "f"
			case "is":
				s, err := itemText(d, "is")
				if err != nil {
					return "", err
				}
				inline.WriteString(s)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "f":
				in = ""
			case "c":
				return xlsxCellValue(typ, v.String(), f.String(), hasF, inline.String(), sst), nil
			}
		case xml.CharData:
			var sb *strings.Builder
			switch in {
			case "v":
				sb = &v
			case "f":
				sb = &f
			default:
				continue
			}
			if sb.Len()+len(t) > 4*MaxCellLength {
				return "", refuse("cell_too_long", engine.Tf("有单元格超过 %d 个字符", "a cell is longer than %d characters", MaxCellLength))
			}
			sb.Write(t)
		}
	}
}

func xlsxCellValue(typ, v, f string, hasF bool, inline string, sst []string) string {
	if hasF && f != "" {
		return "=" + f
	}
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(sst) {
			return ""
		}
		return sst[i]
	case "inlineStr":
		return inline
	case "b":
		if strings.TrimSpace(v) == "1" {
			return "TRUE"
		}
		return "FALSE"
	}
	return v
}
