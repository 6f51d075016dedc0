package web

import "github.com/a-h/templ"

// Page is what every page's layout needs.
type Page struct {
	Lang  string
	Title string
	User  *UserInfo // nil when not logged in
	CSRF  string    // the token for forms of this page
	Path  string    // the current path, for the language switch
	Flash string    // a one-line notice at the top
	Inbox int       // open tasks of the user, for the badge

	// Unread counts the user's unread notifications, for the bell.
	Unread int

	// Scripts and Styles are extra files under /static/ that this page
	// needs beyond app.js and app.css (each area keeps its own).
	Scripts []string
	Styles  []string
}

// UserInfo is the signed-in user as the layout shows them.
type UserInfo struct {
	Name    string
	Email   string
	Admin   bool
	Auditor bool
}

// LoginPage is the login form.
type LoginPage struct {
	Page
	Email string
	Next  string
	Error string
}

// HomePage lists the apps and forms the user may use.
type HomePage struct {
	Page
	Apps []AppItem
}

// AppItem is one app on the home page.
type AppItem struct {
	Key        string
	Name       string
	Forms      []FormItem
	Dashboards []Choice // value: the dashboard's URL
}

// FormItem is one form of an app on the home page.
type FormItem struct {
	Key     string
	Title   string
	NewURL  string // empty when the user may not create
	ListURL string // empty when the user may not read
}

// FormPage is a form to fill in: a new record, or an existing one
// (Version set) being edited.
type FormPage struct {
	Page
	FormTitle  string
	Action     string // where the form posts
	PreviewURL string // where live rules are asked
	ListURL    string
	Errors     []string // errors not tied to a visible field
	Sections   []Section
	Version    string // the record version an edit is based on; "" for a new record
	CancelURL  string // back to the record without saving (edit only)
	Multipart  bool   // the form has file inputs
	UploadURL  string // where the script uploads files as they are chosen
}

// Section is one part of a form's layout.
type Section struct {
	Title     string
	Columns   int
	Collapsed bool // folded until opened (open when one of its fields has an error)
	Fields    []*Field
}

// Open reports whether a collapsed section starts open: one of its fields
// has an error the person must see.
func (s Section) Open() bool {
	for _, f := range s.Fields {
		if f.Error != "" {
			return true
		}
	}
	return !s.Collapsed
}

// Field is one field as the form renderer draws it.
type Field struct {
	Key      string
	ID       string // the input's element id
	Name     string // the input's form name
	Label    string
	Widget   string
	Type     string // JSON Schema type
	Input    string // HTML input type for plain inputs
	Step     string
	Value    string
	Checked  bool
	Multi    bool
	Options  []Option
	Required bool
	Readonly bool
	Hidden   bool
	Computed bool
	Error    string
	Help     string
	Unit     string
	Sub      []*Field // subform columns
	Rows     [][]*Field
	Blank    []*Field // a subform's new row, its names numbered ROW (form_rows.go)

	// Static fields are shown as text, not as inputs: the user may read
	// but not edit them (read or masked permission).
	Static  bool
	Display string   // the value as read (option labels, yes/no)
	Files   []File   // attachment and image fields: the uploads held
	PickURL string   // member, unit and relation fields: the search endpoint
	Picked  string   // the picked value's label
	FillURL string   // relation fields with x-fill: what a pick fills in (static/app.js)
	Accept  string   // file inputs: the accepted types
	Choices []Option // unit fields: the unit tree for a plain select
}

// File is one upload held by an attachment or image field.
type File struct {
	Ref   string // the value stored in the field
	Name  string
	Size  string // human readable
	Type  string
	URL   string // download address; "" before the record is saved
	Image bool
	Thumb string // an image's thumbnail address (URL?thumb=1, served by server/upload.go)
}

// Option is one choice of a select, radio or checkbox group.
type Option struct {
	Value    string
	Label    string
	Selected bool
	ID       string
}

// ListPage is the records list of a form.
type ListPage struct {
	Page
	FormTitle string
	ListURL   string
	NewURL    string
	ImportURL string // the import page, for a user with the import operation
	BinURL    string // the recycle bin, for a user with the delete operation
	ExportURL string // the export page with the list's filters, sort and columns, for a user with the export operation
	PublicURL string // the form's public link page, for administrators and the app's designers
	Search    string
	Sort      string
	Columns   []Column
	Rows      []Row
	Filters   []Filter
	NextURL   string
	FirstURL  string
	Error     string
	TZ        string // the tz offset the filters were read in ("" = UTC)
	// ChartFilter is the filter a dashboard's point opened the list with
	// (kept while the list's own filters change).
	ChartFilter string

	Views      []ViewTab // the tabs over the list: all records, then each view
	View       string    // the open view's id ("" = none)
	ViewEdit   *ViewTab  // the open view when the user saved it: rename and delete
	SaveURL    string    // where "save as a view" posts
	SaveQuery  string    // the list's state it saves
	ColChoices []Option  // the fields a user may show as columns
}

// ViewTab is one tab over a list: a view to open.
type ViewTab struct {
	ID        string
	Name      string
	URL       string
	Active    bool
	Shared    bool
	RenameURL string
	DeleteURL string
}

// Column is a list column with its sort links.
type Column struct {
	Key     string
	Label   string
	SortURL string
	Sorted  string // "", "asc" or "desc"
}

// Row is one record in a list.
type Row struct {
	URL   string
	Cells []string
}

// Filter is a list filter built from a field: a choice of options
// (Options), a range (Kind "number", "date" or "datetime-local" with
// From/To) or a text match (Kind "text" with Value).
type Filter struct {
	Key     string
	ID      string
	Label   string
	Options []Option
	Kind    string // "", "text", "number", "date", "datetime-local", "pick"
	Value   string // text filters and pickers: the current value
	From    string
	To      string
	PickURL string
	Picked  string
	Ranges  []Option // a date filter's named ranges (then From and To are the custom range)
}

// RecordPage shows one record with its history.
type RecordPage struct {
	Page
	FormTitle string
	ListURL   string
	EditURL   string // "" when the user may not update
	DeleteURL string // the confirmation page; "" when the user may not delete
	PrintURL  string // the print page; "" when the user may not print
	AuditURL  string // who looked at this record; "" unless the user reads the audit log
	Meta      []Value
	Values    []Value
	Revisions []Revision
	Flow      templ.Component // the workflow panel; nil when the record has none
}

// Value is a label and a displayed value (with the uploads of an
// attachment or image field).
type Value struct {
	Label string
	Value string
	Files []File
}

// DeletePage asks to confirm moving a record to the recycle bin; it works
// without JavaScript (a plain form post).
type DeletePage struct {
	Page
	FormTitle string
	Action    string
	CancelURL string
	Version   string
	Summary   []Value
}

// Revision is one entry of a record's history.
type Revision struct {
	Version    int64
	Op         string
	Actor      string
	At         string
	Changes    []Change
	Withheld   bool   // the revision also changed fields the viewer may not see (unnamed)
	RestoreURL string // empty for the current version
}

// Change is one field's change in a revision.
type Change struct {
	Label  string
	Before string
	After  string
}

// ErrorPage is a readable error.
type ErrorPage struct {
	Page
	Status int
	Detail string
}
