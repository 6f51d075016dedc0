package web

import "formwork/engine"

func init() {
	addMessages(map[string][2]string{
		"print.link":      {"打印", "Print"},
		"print.title":     {"打印", "Print"},
		"print.now":       {"打印本页", "Print this page"},
		"print.back":      {"返回记录", "Back to the record"},
		"print.hint":      {"打印时请选择 A4 纸；水印会出现在每一页上。", "Choose A4 paper when printing; the watermark appears on every page."},
		"print.by":        {"打印人", "Printed by"},
		"print.at":        {"打印时间", "Printed at"},
		"print.watermark": {"水印：", "Watermark: "},
		"print.approvals": {"审批记录", "Approval history"},
		"print.no_flow":   {"此记录没有审批流程。", "This record has not been through an approval."},
		"print.flow_st":   {"审批状态：", "Approval status: "},
		"print.empty":     {"（空）", "(empty)"},
		"print.rows_none": {"无", "none"},
		"print.record_id": {"记录编号", "Record number"},
		"print.footer":    {"本文件含受保护的信息，仅供内部使用，请勿外传。", "This document holds protected information: for internal use only, do not pass it on."},
		"print.st.active": {"正常", "active"},
		"print.col.time":  {"时间", "Time"},
		"print.col.step":  {"步骤", "Step"},
		"print.col.who":   {"处理人", "By"},
		"print.col.note":  {"意见", "Comment"},
	})
}

// StatusLabel is a record status in words.
func StatusLabel(lang, status string) string {
	if words, ok := engine.StatusWords(status); ok {
		return words.In(lang)
	}
	for _, k := range []string{"tasks.st." + status, "print.st." + status} {
		if _, ok := messages[k]; ok {
			return Msg(lang, k)
		}
	}
	return status
}
