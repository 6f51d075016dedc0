package web

// DesignerDashboardsPage is /designer/apps/{app}/dashboards: the draft's
// dashboards with their roles and charts, and the forms that add a
// dashboard and a chart.
type DesignerDashboardsPage struct {
	Page
	App        string
	AppName    string
	AppURL     string
	Action     string // POST: one step (the form's "do")
	Dashboards []DesignerDash
	Forms      []DesignerChartForm
	Roles      []Choice
	Error      string
	Problems   []string // the draft's problems in its dashboards, in words
}

// DesignerDash is one dashboard of the draft.
type DesignerDash struct {
	Key       string
	Name      string
	Roles     map[string]bool
	RoleNames []string
	Charts    []DesignerChart
}

// DesignerChart is one chart in words.
type DesignerChart struct {
	Key     string
	Name    string
	Type    string
	Form    string
	Groups  []string
	Measure string
}

// DesignerChartForm is a form a chart may be drawn from: the fields it may
// group by and those it may measure.
type DesignerChartForm struct {
	Key      string
	Title    string
	Groups   []Choice
	Measures []Choice
}
