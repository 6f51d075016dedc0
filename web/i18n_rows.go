package web

func init() {
	addMessages(map[string][2]string{
		"rows.tools":  {"行操作", "Row actions"},
		"rows.add":    {"＋ 添加一行", "+ Add a row"},
		"rows.drag":   {"拖动以移动此行（也可用上下方向键）", "Drag to move this row (or use the up and down arrow keys)"},
		"rows.up":     {"上移此行", "Move this row up"},
		"rows.down":   {"下移此行", "Move this row down"},
		"rows.remove": {"删除此行", "Remove this row"},
		"rows.moved":  {"已移到第 %d 行", "Moved to row %d"},
		"rows.added":  {"已添加第 %d 行", "Row %d added"},
		"rows.gone":   {"已删除一行", "Row removed"},
	})
}
