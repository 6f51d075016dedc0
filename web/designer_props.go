package web

// propsScriptMsgs are the catalogue keys the designer's property, rule,
// formula and layout modules use, without their "dz.p." prefix.
var propsScriptMsgs = []string{}

func init() {
	addMessages(map[string][2]string{
		"form.section_more": {"展开这一部分", "Show this part"},
	})
}
