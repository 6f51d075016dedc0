package web

// View models of the import pages: the upload form, and one import with
// its progress, its column mapping and its report.

// ImportUploadPage asks for the file to import into a form.
type ImportUploadPage struct {
	Page
	FormTitle string
	ListURL   string
	Action    string
	Error     string
	Limits    string // what files are taken, in words
}

// ImportPage is one import: a progress bar while it runs; after a dry run
// the mapping (one select per column) and the report with the buttons to
// check again or import; after the real run the report and the failed
// rows' workbook.
type ImportPage struct {
	Page
	FormTitle  string
	ListURL    string
	Action     string // where the mapping form posts
	PollURL    string // the API address the progress bar follows; "" once over
	FailedURL  string // the failed rows' workbook; "" when none failed
	File       string
	DryRun     bool
	Running    bool
	Rows       int
	Processed  int
	Summary    string // the outcome in one sentence
	Error      string
	Columns    []ImportColumnView
	KeyOptions []Option // update mode: "" (create only) and the mapped text and number fields
	Errors     []ImportErrorView
	Truncated  bool
	CanRun     bool   // a finished dry run: the real run may follow
	RunLabel   string // the real run's button, with its row count
}

// ImportColumnView is one column of the file in the mapping form.
type ImportColumnView struct {
	Letter  string
	Header  string
	Name    string // the select's name
	ID      string
	Note    string
	Options []Option // "" (ignore) and each field a column may fill
}

// ImportErrorView is one problem of one row in the report.
type ImportErrorView struct {
	Row     int
	Column  string // "B · 手机号", or the field's label when no column fills it
	Message string
}
