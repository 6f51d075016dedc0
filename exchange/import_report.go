package exchange

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"formwork/engine"
)

// ImportErrorText is one row's errors in words, in lang: each as its
// column (or field) and message.
func ImportErrorText(errs []engine.ImportError, lang string) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		where := e.Label.In(lang)
		if e.Column != "" {
			if lang == "en" {
				where = fmt.Sprintf("column %s (%s)", e.Column, e.Header)
			} else {
				where = fmt.Sprintf("%s 列（%s）", e.Column, e.Header)
			}
		}
		sep := "："
		if lang == "en" {
			sep = ": "
		}
		parts = append(parts, where+sep+e.Message.In(lang))
	}
	if lang == "en" {
		return strings.Join(parts, "; ")
	}
	return strings.Join(parts, "；")
}

// WriteImportReport writes the failed rows of an import as an .xlsx: the
// file's header and its failed rows as they were, each cell as text (a
// formula stays text), then a column with the row's number in the file
// and one with its errors in lang. Importing the corrected file again
// ignores those two columns.
func WriteImportReport(w io.Writer, headers []string, failures []engine.ImportFailure, lang string) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	if lang == "en" {
		_ = f.SetSheetName(sheet, "Failed rows")
	} else {
		_ = f.SetSheetName(sheet, "未导入的行")
	}
	name := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("import report: %w", err)
	}
	rowLabel, errLabel := "原行号", "错误"
	if lang == "en" {
		rowLabel, errLabel = "Row in file", "Errors"
	}
	head := make([]any, 0, len(headers)+2)
	for _, h := range headers {
		head = append(head, excelize.Cell{Value: h})
	}
	head = append(head, excelize.Cell{Value: rowLabel}, excelize.Cell{Value: errLabel})
	if err := sw.SetRow("A1", head); err != nil {
		return fmt.Errorf("import report: %w", err)
	}
	for i, fl := range failures {
		row := make([]any, len(headers)+2)
		for k := range headers {
			v := ""
			if k < len(fl.Row.Cells) {
				v = fl.Row.Cells[k]
			}
			row[k] = excelize.Cell{Value: v}
		}
		row[len(headers)] = excelize.Cell{Value: fl.Row.N}
		row[len(headers)+1] = excelize.Cell{Value: ImportErrorText(fl.Errors, lang)}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return fmt.Errorf("import report: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("import report: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("import report: %w", err)
	}
	return nil
}
