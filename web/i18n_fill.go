package web

func init() {
	addMessages(map[string][2]string{
		"fill.masked": {"所选记录的这一项你只能看到部分内容，不会带入本记录；需要时请自行填写", "You may see this value of the record picked only in part: it is not copied into this record; type it in if you need it"},
	})
}
