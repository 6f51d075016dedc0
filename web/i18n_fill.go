package web

func init() {
	addMessages(map[string][2]string{
		"fill.masked": {"来自所选记录，你只能看到部分内容：不会保存到本记录", "From the record picked, which you may see only in part: it is not saved with this record"},
	})
}
