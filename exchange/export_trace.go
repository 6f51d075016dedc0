package exchange

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Trace is what a file says about the export it came from.
type Trace struct {
	// Tag is the invisible mark the text cells agree on ("" when fewer
	// than eight marked cells survive).
	Tag string
	// Cells is how many marked cells voted for it.
	Cells int
	// Export is the export id the workbook's properties name ("" when
	// they were lost, e.g. cells copied into another workbook).
	Export string
}

// traceUnzipLimit bounds what a traced workbook may unpack to.
const traceUnzipLimit = 512 << 20

// TraceFile reads the marks of an exported file, or of any workbook or
// text file holding cells copied out of one: an .xlsx (by its content),
// else text (CSV).
func TraceFile(data []byte) (*Trace, error) {
	var v tagVotes
	t := &Trace{}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: traceUnzipLimit, UnzipXMLSizeLimit: traceUnzipLimit})
		if err != nil {
			return nil, fmt.Errorf("not a workbook that opens: %w", err)
		}
		defer f.Close()
		if props, err := f.GetDocProps(); err == nil {
			t.Export = exportOfProps(props)
		}
		for _, sheet := range f.GetSheetList() {
			rows, err := f.Rows(sheet)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				cols, err := rows.Columns()
				if err != nil {
					rows.Close()
					return nil, err
				}
				for _, c := range cols {
					v.read(c)
				}
			}
			rows.Close()
		}
	} else {
		v.read(string(data))
	}
	t.Tag, t.Cells = v.tag()
	return t, nil
}

// exportOfProps is the export id in a workbook's properties.
func exportOfProps(p *excelize.DocProperties) string {
	if strings.HasPrefix(p.Identifier, "exp-") {
		return p.Identifier
	}
	for _, w := range strings.Fields(p.Keywords) {
		if strings.HasPrefix(w, "exp-") {
			return w
		}
	}
	return ""
}
