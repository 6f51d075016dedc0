package web

func init() {
	addMessages(map[string][2]string{
		"dash.nav":                {"仪表盘", "Dashboards"},
		"dash.range":              {"时间", "Period"},
		"dash.unit":               {"部门", "Unit"},
		"dash.unit.all":           {"全部部门", "All units"},
		"dash.from":               {"从", "From"},
		"dash.to":                 {"到", "To"},
		"dash.apply":              {"查看", "Show"},
		"dash.range.":             {"全部时间", "All time"},
		"dash.range.today":        {"今天", "Today"},
		"dash.range.this_week":    {"本周", "This week"},
		"dash.range.last_week":    {"上周", "Last week"},
		"dash.range.this_month":   {"本月", "This month"},
		"dash.range.last_month":   {"上月", "Last month"},
		"dash.range.last_30_days": {"最近 30 天", "Last 30 days"},
		"dash.range.this_year":    {"今年", "This year"},
		"dash.range.last_year":    {"去年", "Last year"},
		"dash.range.custom":       {"自定义", "Custom"},
		"dash.value":              {"数值", "Value"},
		"dash.group":              {"分组", "Group"},
		"dash.table":              {"数据表", "Data table"},
		"dash.empty":              {"这段时间没有数据。", "No data for this period."},
		"dash.other":              {"为保护客户信息，少于最小分组人数的组合并为“其他”。", "To protect customers, groups smaller than the minimum are folded into “Other”."},
		"dash.prev":               {"较上期", "vs previous period"},
		"dash.open_list":          {"查看记录", "Open the records"},
		"dash.updated":            {"已更新", "Updated"},
		"dash.refresh_failed":     {"刷新失败，显示的是上次的数据。", "Refreshing failed; the numbers shown are the last ones."},
		"dash.others":             {"其他仪表盘", "Other dashboards"},
		"home.dashboards":         {"仪表盘", "Dashboards"},
	})
}
