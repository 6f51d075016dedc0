package web

// DashboardPage is /apps/{app}/dashboards/{key}: the period and unit
// pickers, and each chart drawn by dashboard.js from Data, with its
// numbers as a table under it (for screen readers, for copying, and for
// a browser without scripts).
type DashboardPage struct {
	Page
	Name    string
	Range   string
	From    string
	To      string
	Unit    string
	Ranges  []Choice
	Units   []Choice
	Charts  []DashChart
	Data    string // the API's answer, for dashboard.js
	Error   string
	Others  []Choice // the app's other dashboards the viewer may open (value: URL)
	Refresh int      // seconds between refreshes
}

// DashChart is one chart as the page shows it.
type DashChart struct {
	Key     string
	Type    string
	Name    string
	Refused string
	Other   bool   // small groups were folded into "other"
	Value   string // a number chart's value
	Change  string // against the previous period: "+12%", "−3%", "" without one
	Trend   string // up, down or flat
	Head    []string
	Rows    []DashRow
}

// DashRow is one row of a chart's table: its label, its cells (one, or a
// pivot table's columns) and the list of its records.
type DashRow struct {
	Label string
	Cells []string
	URL   string
}
