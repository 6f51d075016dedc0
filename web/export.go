package web

// ExportPage chooses what to export from a list: the list's selection in
// words, the columns and the format.
type ExportPage struct {
	Page
	FormTitle string
	ListURL   string
	Action    string
	Query     string   // the list's query, sent back with the form
	Selection []string // the list's filters and search in words
	Columns   []ExportColumn
	Error     string
}

// ExportColumn is a field that may be exported.
type ExportColumn struct {
	Key     string
	Label   string
	Masked  bool // exported masked
	Checked bool
}

// ExportItem is one export as the pages show it.
type ExportItem struct {
	ID      string
	Title   string
	Format  string
	Status  string // engine.Export* states
	Rows    int64
	Done    int64
	At      string
	Expires string
	URL     string
	FileURL string
	Error   string
}

// ExportProgressPage follows one export until its file is ready.
type ExportProgressPage struct {
	Page
	Item      ExportItem
	StatusURL string // the API that export.js polls
	ListURL   string
}

// ExportsPage lists the user's exports.
type ExportsPage struct {
	Page
	Items []ExportItem
}

// exportPercent is how far an export is, in whole percent.
func exportPercent(it ExportItem) int {
	if it.Status == "done" {
		return 100
	}
	if it.Rows <= 0 {
		return 0
	}
	return int(min(100, it.Done*100/it.Rows))
}

func init() {
	addMessages(map[string][2]string{
		"exp.title":                {"导出", "Export"},
		"exp.colon":                {"：", ": "},
		"exp.selection":            {"导出的记录", "Records exported"},
		"exp.all_records":          {"列表中你可以查看的全部记录", "Every record of the list you may see"},
		"exp.back":                 {"返回列表", "Back to the list"},
		"exp.format":               {"文件格式", "File format"},
		"exp.xlsx":                 {"Excel 工作簿（.xlsx）", "Excel workbook (.xlsx)"},
		"exp.csv":                  {"CSV 文本（.csv，Excel 可直接打开）", "CSV text (.csv, opens in Excel)"},
		"exp.columns":              {"导出的字段", "Fields exported"},
		"exp.masked":               {"打码导出", "exported masked"},
		"exp.note":                 {"文件会注明导出人和导出时间，并带有可追溯的隐形标记；导出会被审计，文件 24 小时后失效。", "The file names who exported it and when, and carries an invisible mark that traces it back; exports are audited, and the file expires after 24 hours."},
		"exp.submit":               {"开始导出", "Export"},
		"exp.no_columns":           {"请至少选择一个字段", "Choose at least one field"},
		"exp.progress_title":       {"导出进度", "Export progress"},
		"exp.mine":                 {"我的导出", "My exports"},
		"exp.none":                 {"你还没有导出过数据。", "You have not exported anything yet."},
		"exp.rows":                 {"%d / %d 条记录", "%d of %d records"},
		"exp.download":             {"下载文件", "Download the file"},
		"exp.expires":              {"文件有效期至 %s", "The file can be downloaded until %s"},
		"exp.st.queued":            {"排队中", "Queued"},
		"exp.st.running":           {"正在导出", "Exporting"},
		"exp.st.awaiting_approval": {"等待审批：这次导出需要审批，审批通过后才会生成文件", "Awaiting approval: this export needs an approval before its file is made"},
		"exp.st.rejected":          {"审批未通过，文件不会生成", "The approval was refused; no file will be made"},
		"exp.st.done":              {"已完成", "Done"},
		"exp.st.expired":           {"文件已过期，请重新导出", "The file has expired; export again"},
		"exp.st.failed":            {"导出失败", "The export failed"},
		"nav.exports":              {"我的导出", "My exports"},
	})
}
