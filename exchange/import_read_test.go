package exchange

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"formwork/engine"
)

// excelFile builds an .xlsx with excelize, as Excel would save it: rows of
// values (a string starting with "=" becomes a formula), from A1.
func excelFile(tb testing.TB, rows [][]any) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		for k, v := range r {
			cell, _ := excelize.CoordinatesToCellName(k+1, i+1)
			var err error
			if s, ok := v.(string); ok && strings.HasPrefix(s, "=") {
				err = f.SetCellFormula("Sheet1", cell, s[1:])
			} else {
				err = f.SetCellValue("Sheet1", cell, v)
			}
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// rawXLSX builds a minimal workbook around the given sheet XML body (the
// content of <sheetData>).
func rawXLSX(tb testing.TB, sheetData string, extra map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	parts := map[string]string{
		"xl/workbook.xml":            `<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml":   `<worksheet><sheetData>` + sheetData + `</sheetData></worksheet>`,
	}
	for k, v := range extra {
		parts[k] = v
	}
	for name, body := range parts {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadTableXLSX(t *testing.T) {
	data := excelFile(t, [][]any{
		{"姓名", "手机号", "等级", "预算", "姓名"},
		{"张三", "13800138000", "金卡", 1200.5, "x"},
		{},
		{"=HYPERLINK(\"http://example.com\",\"点我\")", "13900139000", "VIP", "=1+1"},
	})
	got, err := ReadTable("customers.xlsx", data)
	if err != nil {
		t.Fatal(err)
	}
	want := &engine.ImportTable{
		Headers: []string{"姓名", "手机号", "等级", "预算", "姓名"},
		Rows: []engine.ImportRow{
			{N: 2, Cells: []string{"张三", "13800138000", "金卡", "1200.5", "x"}},
			{N: 4, Cells: []string{`=HYPERLINK("http://example.com","点我")`, "13900139000", "VIP", "=1+1"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadTableCSV(t *testing.T) {
	gbk, err := simplifiedchinese.GB18030.NewEncoder().String("姓名,等级\n张三,金卡\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data string
		want *engine.ImportTable
	}{
		"utf-8 with BOM and a blank line": {"\ufeffname,level\n\n张三,gold\n\"李\n四\",=1+1\n",
			&engine.ImportTable{Headers: []string{"name", "level"}, Rows: []engine.ImportRow{{N: 3, Cells: []string{"张三", "gold"}}, {N: 4, Cells: []string{"李\n四", "=1+1"}}}}},
		"gb18030 as Excel saves it": {gbk,
			&engine.ImportTable{Headers: []string{"姓名", "等级"}, Rows: []engine.ImportRow{{N: 2, Cells: []string{"张三", "金卡"}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadTable("f.csv", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadTableRefuses: bad input is refused with a code and a message
// for people, never a panic or a Go error.
func TestReadTableRefuses(t *testing.T) {
	var million strings.Builder
	million.WriteString("name\n")
	for i := 0; i < 1<<20; i++ {
		million.WriteString("a\n")
	}
	var manyRows strings.Builder
	for i := 1; i <= engine.MaxImportRows+2; i++ {
		fmt.Fprintf(&manyRows, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>`, i, i)
	}
	bomb := zipBomb(t)
	for name, tc := range map[string]struct {
		file string
		data []byte
		code string
	}{
		"empty file":           {"f.csv", nil, "empty"},
		"only spaces":          {"f.csv", []byte(" \n\n"), "empty"},
		"header only":          {"f.csv", []byte("name,phone\n"), "no_rows"},
		"empty workbook":       {"f.xlsx", excelFile(t, nil), "empty"},
		"1,048,576 csv rows":   {"f.csv", []byte(million.String()), "too_many_rows"},
		"too many xlsx rows":   {"f.xlsx", rawXLSX(t, manyRows.String(), nil), "too_many_rows"},
		"row past the sheet":   {"f.xlsx", rawXLSX(t, `<row r="1048577"><c r="A1"><v>1</v></c></row>`, nil), "format"},
		"zip bomb":             {"f.xlsx", bomb, "too_large"},
		"not a workbook":       {"f.xlsx", []byte("PK\x03\x04garbage"), "format"},
		"an old xls":           {"f.xls", []byte{0xd0, 0xcf, 0x11, 0xe0, 0, 0, 0}, "format"},
		"too many columns":     {"f.csv", []byte(strings.Repeat("h,", MaxImportColumns+1) + "\n1\n"), "too_many_columns"},
		"a huge cell":          {"f.csv", []byte("h\n" + strings.Repeat("x", MaxCellLength+1) + "\n"), "cell_too_long"},
		"bad xml":              {"f.xlsx", rawXLSX(t, `<row><c><v>1</c></row>`, nil), "format"},
		"column far right":     {"f.xlsx", rawXLSX(t, `<row r="1"><c r="ZZ1"><v>1</v></c></row>`, nil), "too_many_columns"},
		"bad shared string ix": {"f.xlsx", rawXLSX(t, `<row r="1"><c r="A1" t="s"><v>7</v></c></row>`, nil), "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadTable(tc.file, tc.data)
			fes := engine.ErrorFields(err)
			if engine.ErrorCode(err) != engine.EINVALID || len(fes) != 1 || fes[0].Code != tc.code {
				t.Fatalf("got %v %+v, want invalid %s", err, fes, tc.code)
			}
			if m := fes[0].Message; m.Zh == "" || m.En == "" || strings.Contains(m.En, "xml") || strings.Contains(m.En, "zip:") {
				t.Errorf("message not for people: %+v", m)
			}
		})
	}
}

// zipBomb is a small file whose sheet unpacks past MaxUnzippedSize.
func zipBomb(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		tb.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for i := 0; i < MaxUnzippedSize>>20+1; i++ {
		if _, err := w.Write(chunk); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadTable: no input makes the reader panic, and what it returns is
// a table whose rows are numbered upwards.
func FuzzReadTable(f *testing.F) {
	f.Add("f.csv", []byte("name,phone\n张三,138\n"))
	f.Add("f.csv", []byte("\ufeff\"a\"\"b\",c\r\n1,2"))
	f.Add("f.xlsx", excelFile(f, [][]any{{"name", "n"}, {"张三", 1.5}, {"=1+1"}}))
	f.Add("f.xlsx", rawXLSX(f, `<row r="1"><c r="B1" t="inlineStr"><is><t>h</t></is></c></row><row><c t="b"><v>1</v></c></row>`, nil))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		tbl, err := ReadTable(name, data)
		if err != nil {
			if engine.ErrorCode(err) != engine.EINVALID {
				t.Fatalf("not a refusal: %v", err)
			}
			return
		}
		last := 0
		for _, r := range tbl.Rows {
			if r.N <= last {
				t.Fatalf("row numbers not increasing: %d after %d", r.N, last)
			}
			last = r.N
		}
	})
}

func TestWriteImportReport(t *testing.T) {
	var buf bytes.Buffer
	fails := []engine.ImportFailure{{Row: engine.ImportRow{N: 3, Cells: []string{"=1+1", "12345"}},
		Errors: []engine.ImportError{{Row: 3, Column: "B", Header: "手机号", Label: engine.T("手机号", "Mobile"), Message: engine.T("格式不正确", "wrong format")}}}}
	if err := WriteImportReport(&buf, []string{"姓名", "手机号"}, fails, "zh"); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if formula, _ := f.GetCellFormula(sheet, "A2"); formula != "" {
		t.Errorf("a cell became a formula: %q", formula)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"姓名", "手机号", "原行号", "错误"}, {"=1+1", "12345", "3", "B 列（手机号）：格式不正确"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// BenchmarkReadTableXLSX10k reads a 10,000-row workbook as Excel saves it.
func BenchmarkReadTableXLSX10k(b *testing.B) {
	rows := [][]any{{"姓名", "手机号", "等级", "预算", "入会日期"}}
	for i := 0; i < 10000; i++ {
		rows = append(rows, []any{fmt.Sprintf("客户%05d", i), fmt.Sprintf("139%08d", i), "普通", float64(i) * 1.5, 46362})
	}
	data := excelFile(b, rows)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		t, err := ReadTable("f.xlsx", data)
		if err != nil || len(t.Rows) != 10000 {
			b.Fatalf("%v %d", err, len(t.Rows))
		}
	}
}
