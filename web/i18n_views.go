package web

func init() {
	addMessages(map[string][2]string{
		"views.all":           {"全部记录", "All records"},
		"views.tabs":          {"视图", "Views"},
		"views.shared":        {"已共享", "shared"},
		"views.save":          {"保存为视图", "Save as a view"},
		"views.name":          {"视图名称", "View name"},
		"views.share":         {"共享给本部门", "Share with my unit"},
		"views.save_button":   {"保存视图", "Save view"},
		"views.rename":        {"重命名", "Rename"},
		"views.rename_button": {"保存名称", "Save name"},
		"views.delete":        {"删除视图", "Delete view"},
		"views.saved":         {"视图已保存", "The view is saved"},
		"views.renamed":       {"视图已更新", "The view is updated"},
		"views.deleted":       {"视图已删除", "The view is deleted"},
		"views.columns":       {"显示的列", "Columns shown"},
		"list.status":         {"状态", "Status"},
		"list.created":        {"创建时间", "Created"},
		"flt.range":           {"时间范围", "Date range"},
		"flt.range.any":       {"任意时间", "Any time"},
		"flt.range.custom":    {"自定义", "Custom"},
	})
}
