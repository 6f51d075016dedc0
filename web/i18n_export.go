package web

func init() {
	addMessages(map[string][2]string{
		"exp.file_header": {"由 %s 于 %s（%s）导出 · 导出编号 %s · %s · 本文件含客户数据，请勿外传", "Exported by %s at %s (%s) · export %s · %s · holds customer data: do not pass it on"},
	})
}
