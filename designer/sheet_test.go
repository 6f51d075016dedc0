package designer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"formwork/engine"
)

// sheetRows is a store's customer list as staff keep it in Excel.
var sheetRows = [][]any{
	{"客户姓名", "手机号", "等级", "消费金额", "到店次数", "首次到店", "是否会员", "Email", "备注"},
	{"王小明", "13912345678", "普通", 120.5, 3, "2026-03-01", "是", "wang@example.com", "喜欢蓝色"},
	{"李四", "13812345678", "VIP", 88, 1, "2026/3/5", "否", "li@example.com", ""},
	{"张伟", "13712345678", "普通", 300, 7, "2026-04-10", "是", "", "周末来"},
	{"赵六", "13612345678", "VIP", 0, 2, "2026-05-01", "否", "zhao@example.com", ""},
}

func xlsxOf(tb testing.TB, rows [][]any) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundleFromSheet(t *testing.T) {
	want := []SheetColumn{
		{Header: "客户姓名", Key: "ke_hu_xing_ming", Widget: "text", Type: "string"},
		{Header: "手机号", Key: "shou_ji_hao", Widget: "phone", Type: "string"},
		{Header: "等级", Key: "deng_ji", Widget: "select", Type: "string"},
		{Header: "消费金额", Key: "xiao_fei_jin_e", Widget: "number", Type: "number"},
		{Header: "到店次数", Key: "dao_dian_ci_shu", Widget: "number", Type: "integer"},
		{Header: "首次到店", Key: "shou_ci_dao_dian", Widget: "date", Type: "string"},
		{Header: "是否会员", Key: "shi_fou_hui_yuan", Widget: "checkbox", Type: "boolean"},
		{Header: "Email", Key: "email", Widget: "email", Type: "string"},
		{Header: "备注", Key: "bei_zhu", Widget: "text", Type: "string"},
	}
	var csvText strings.Builder
	csvText.WriteString("\xef\xbb\xbf")
	for _, row := range sheetRows {
		var cells []string
		for _, c := range row {
			b, _ := json.Marshal(c)
			cells = append(cells, strings.Trim(string(b), `"`))
		}
		csvText.WriteString(strings.Join(cells, ",") + "\r\n")
	}
	for _, tc := range []struct {
		name string
		file string
		data []byte
	}{
		{"xlsx", "客户.xlsx", xlsxOf(t, sheetRows)},
		{"csv", "customers.CSV", []byte(csvText.String())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa, err := BundleFromSheet("customers", engine.T("客户", "Customers"), tc.file, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, sa.Columns); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if sa.Rows != 4 {
				t.Errorf("rows %d, want 4", sa.Rows)
			}
			b, err := engine.LoadBundle(sa.Bundle)
			if err != nil {
				t.Fatalf("the bundle does not load: %v\n%s", err, sa.Bundle)
			}
			f := b.Form("records")
			if f == nil || len(f.Fields) != len(want) {
				t.Fatalf("form: %+v", f)
			}
			var doc struct {
				Sample map[string][]map[string]any `json:"sample_data"`
			}
			if err := json.Unmarshal(sa.Bundle, &doc); err != nil {
				t.Fatal(err)
			}
			first := doc.Sample["records"][1]
			if diff := cmp.Diff(map[string]any{"ke_hu_xing_ming": "李四", "shou_ji_hao": "13812345678", "deng_ji": "VIP", "xiao_fei_jin_e": 88.0,
				"dao_dian_ci_shu": 1.0, "shou_ci_dao_dian": "2026-03-05", "shi_fou_hui_yuan": false, "email": "li@example.com"}, first); diff != "" {
				t.Errorf("second row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBundleFromSheetRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		data       []byte
	}{
		{"empty csv", "a.csv", nil},
		{"no header", "a.csv", []byte(",,\n1,2,3\n")},
		{"not a workbook", "a.xlsx", []byte("PK not really")},
		{"other type", "a.pdf", []byte("%PDF")},
		{"not utf-8", "a.csv", []byte("\xff\xfe名\n")},
		{"broken quotes", "a.csv", []byte("a,\"b\n1,2")},
		{"too many columns", "a.csv", []byte(strings.Repeat("c,", MaxSheetColumns) + "c\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BundleFromSheet("x", engine.T("x", "x"), tc.file, bytes.NewReader(tc.data))
			if engine.ErrorCode(err) != engine.EINVALID || strings.Contains(engine.ErrorMessage(err, "zh"), "excelize") {
				t.Errorf("%v, want a plain invalid error", err)
			}
		})
	}
}

func TestFieldKey(t *testing.T) {
	taken := map[string]bool{"name": true}
	for _, tc := range []struct{ label, want string }{
		{"客户姓名", "ke_hu_xing_ming"},
		{"Name", "name_2"},
		{"VIN 码", "vin_ma"},
		{"2024 销量", "f_2024_xiao_liang"},
		{"！！", "field_2"},
		{"E-mail Address", "e_mail_address"},
	} {
		if got := FieldKey(tc.label, taken); got != tc.want {
			t.Errorf("FieldKey(%q) = %q, want %q", tc.label, got, tc.want)
		}
	}
}

// FuzzBundleFromSheet: any CSV bytes give a bundle that loads, or a plain
// invalid error; never a panic.
func FuzzBundleFromSheet(f *testing.F) {
	f.Add([]byte("姓名,手机号\n王小明,13912345678\n"))
	f.Add([]byte("a,b,c\n1,2,3\n4,5.5,x\n"))
	f.Add([]byte("\xef\xbb\xbf日期,是否\n2026/1/2,是\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sa, err := BundleFromSheet("fuzz", engine.T("模糊", "Fuzz"), "f.csv", bytes.NewReader(data))
		if err != nil {
			if engine.ErrorCode(err) != engine.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if _, err := engine.LoadBundle(sa.Bundle); err != nil {
			t.Fatalf("bundle from %q does not load: %v", data, err)
		}
	})
}
