package web

func init() {
	addMessages(map[string][2]string{
		"edit.edit":           {"编辑", "Edit"},
		"edit.save":           {"保存修改", "Save changes"},
		"edit.cancel":         {"取消", "Cancel"},
		"edit.back":           {"返回记录", "Back to the record"},
		"edit.title":          {"编辑记录", "Edit record"},
		"edit.conflict":       {"保存前记录已被他人修改。下面保留了你填写的内容；请核对后再次保存，将覆盖对方的修改。", "Someone changed this record before you saved. Your entries are kept below; check them and save again to overwrite the other change."},
		"edit.delete":         {"删除", "Delete"},
		"edit.delete_title":   {"删除记录", "Delete record"},
		"edit.delete_ask":     {"确定要把这条记录移到回收站吗？有删除权限的人可以从回收站恢复。", "Move this record to the recycle bin? People with delete permission can restore it from there."},
		"edit.delete_confirm": {"确认删除", "Yes, delete"},
		"edit.deleted":        {"记录已移到回收站", "The record was moved to the recycle bin"},
		"file.keep":           {"取消勾选即可移除文件；新文件在保存时上传。", "Untick a file to remove it; new files are uploaded when you save."},
		"file.too_large":      {"文件过大", "the file is too large"},
		"pick.search":         {"输入以搜索", "Type to search"},
		"pick.none":           {"没有匹配项", "No matches"},
		"pick.hint":           {"输入编号；启用脚本后可搜索", "Enter the id; with scripts on you can search"},
		"flt.contains":        {"包含…", "contains…"},
		"flt.from":            {"从", "from"},
		"flt.to":              {"到", "to"},
		"flt.bad":             {"筛选值无效", "a filter value is not valid"},
		"tz.utc":              {"时间按 UTC 显示", "times shown in UTC"},
		"record.withheld":     {"还修改了你无权查看的字段", "also changed fields you may not see"},
	})
}
