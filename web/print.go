package web

// PrintPage is one record laid out for A4 paper: its sections as the form
// defines them (only what the viewer may see), subforms as tables, the
// approval history, and a watermark naming the viewer and the time,
// repeated across the screen and every printed page.
type PrintPage struct {
	Page
	FormTitle string
	BackURL   string // the record's page
	Watermark string // who printed it, when
	Meta      []Value
	Sections  []PrintSection
	Steps     []FlowStep // the approval history; empty when the record ran no workflow
	Status    string     // where the approval stands; "" without a workflow
}

// PrintSection is one section of the form's layout on paper.
type PrintSection struct {
	Title   string
	Columns int // 1 to 3
	Values  []PrintValue
}

// PrintValue is one field on paper: a value, or a subform's rows as a
// table.
type PrintValue struct {
	Key   string
	Label string
	Value string
	Table *PrintTable
}

// PrintTable is a subform's rows.
type PrintTable struct {
	Columns []string
	Rows    [][]string
}

// watermarkRepeats is how many times the watermark text is repeated over
// the page: enough to cover a phone screen and an A4 sheet at any angle.
const watermarkRepeats = 120

func repeats() []int { return make([]int, watermarkRepeats) }
