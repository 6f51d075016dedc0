package web

// Messages of the pages-staff-understand pass: record statuses in words,
// the top bar, the hint of a choice not made yet and the task list's
// record columns.
func init() {
	addMessages(map[string][2]string{
		"record.st.active":    {"已提交", "Submitted"},
		"record.st.in_review": {"审批中", "In review"},
		"record.st.approved":  {"已通过", "Approved"},
		"record.st.rejected":  {"已驳回", "Rejected"},
		"record.st.withdrawn": {"已撤回", "Withdrawn"},
		"tasks.record_status": {"记录状态", "Record status"},
		"nav.admin":           {"系统管理", "Administration"},
		"nav.signed_in_as":    {"当前用户：", "Signed in as "},
		"form.choose_one":     {"请选择一项", "Choose one"},
		"tasks.col.record":    {"记录", "Record"},
		"tasks.col.amount":    {"金额", "Amount"},
	})
}

// anySelected reports whether one of the options is chosen.
func anySelected(opts []Option) bool {
	for _, o := range opts {
		if o.Selected {
			return true
		}
	}
	return false
}
