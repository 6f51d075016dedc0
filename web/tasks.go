package web

// View models of the approval pages: the "My tasks" inbox, one task, and
// the workflow panel of a record's page.

// TasksPage is the inbox: the user's open or done tasks.
type TasksPage struct {
	Page
	Tab       string // "open" or "done"
	OpenCount int
	DoneCount int
	OpenURL   string
	DoneURL   string
	Filter    string   // the chosen "app/form", "" for all
	Filters   []Option // the app/form pairs the user has tasks in
	Rows      []TaskRow
	Results   []string // outcome lines of a batch approval
}

// TaskRow is one task in the inbox.
type TaskRow struct {
	ID        string
	CheckID   string // the checkbox's element id
	URL       string
	Workflow  string
	Node      string
	Form      string
	Title     string // the record's title as the step shows it ("" none)
	Amount    string // its amount, formatted ("" none)
	Submitter string
	Created   string
	Due       string
	Done      string
	Status    string
	Escalated bool
	Overdue   bool
}

// TaskPage is one task: the record as the node shows it, the fields the
// node lets the approver edit, and the actions.
type TaskPage struct {
	Page
	Heading    string
	BackURL    string
	RecordURL  string // empty when the approver may not open the record page
	ActionBase string // /tasks/{id}/
	Open       bool
	Status     string
	Meta       []Value
	Values     []Value   // fields the node shows read-only
	Sections   []Section // fields the node lets the approver edit
	Errors     []string
	Comment    string
	Returnable []Option
	Users      []Option // for transfer and add signer
	Steps      []FlowStep
}

// FlowPanel is the workflow section of a record's page.
type FlowPanel struct {
	Lang        string
	CSRF        string
	Status      string
	Active      []FlowActive
	MyTasks     []FlowTask
	WithdrawURL string // empty unless the viewer may withdraw
	Steps       []FlowStep
}

// FlowActive is a node waiting for decisions.
type FlowActive struct {
	Workflow string
	Node     string
	Mode     string
	Pending  string
	Queued   string
	Due      string
}

// FlowTask is one of the viewer's open tasks on the record.
type FlowTask struct {
	Node       string
	URL        string
	ApproveURL string
	RejectURL  string
}

// FlowStep is one line of a timeline.
type FlowStep struct {
	At      string
	Kind    string // the raw kind, for styling and tests
	What    string
	Actor   string
	Node    string
	Users   string
	Comment string
	Detail  string
}

func init() {
	addMessages(map[string][2]string{
		"tasks.title":              {"我的待办", "My tasks"},
		"tasks.open":               {"待处理", "Open"},
		"tasks.done":               {"已处理", "Done"},
		"tasks.none":               {"没有任务。", "No tasks."},
		"tasks.filter":             {"应用 / 表单", "App / form"},
		"tasks.all":                {"全部", "All"},
		"tasks.apply":              {"筛选", "Filter"},
		"tasks.select_all":         {"全选", "Select all"},
		"tasks.select":             {"选择", "Select"},
		"tasks.batch_approve":      {"批量同意", "Approve selected"},
		"tasks.batch_comment":      {"批量意见（可选）", "Comment for all (optional)"},
		"tasks.workflow":           {"流程", "Workflow"},
		"tasks.node":               {"节点", "Step"},
		"tasks.form":               {"表单", "Form"},
		"tasks.submitter":          {"提交人", "Submitted by"},
		"tasks.created":            {"到达时间", "Arrived"},
		"tasks.due":                {"截止", "Due"},
		"tasks.done_at":            {"处理时间", "Decided"},
		"tasks.status":             {"状态", "Status"},
		"tasks.escalated":          {"已升级", "escalated"},
		"tasks.overdue":            {"已超时", "overdue"},
		"tasks.open_task":          {"处理", "Open"},
		"tasks.back":               {"返回待办", "Back to my tasks"},
		"tasks.record":             {"查看记录", "Open the record"},
		"tasks.record_values":      {"记录内容", "Record"},
		"tasks.edit_fields":        {"此节点可修改的字段", "Fields this step lets you change"},
		"tasks.comment":            {"意见", "Comment"},
		"tasks.approve":            {"同意", "Approve"},
		"tasks.reject":             {"驳回", "Reject"},
		"tasks.return":             {"退回", "Return"},
		"tasks.return_to":          {"退回到", "Return to"},
		"tasks.transfer":           {"转交", "Transfer"},
		"tasks.add_signer":         {"加签", "Add a signer"},
		"tasks.to_user":            {"用户（邮箱）", "User (email)"},
		"tasks.add_comment":        {"评论", "Comment"},
		"tasks.decide":             {"审批", "Decide"},
		"tasks.more":               {"其他操作", "Other actions"},
		"tasks.closed":             {"此任务已处理：", "This task is closed: "},
		"tasks.history":            {"流程记录", "History"},
		"tasks.batch_ok":           {"已同意", "approved"},
		"tasks.batch_failed":       {"未能同意", "not approved"},
		"tasks.done_approve":       {"已同意", "Approved"},
		"tasks.done_reject":        {"已驳回", "Rejected"},
		"tasks.done_return":        {"已退回", "Returned"},
		"tasks.done_transfer":      {"已转交", "Transferred"},
		"tasks.done_add_signer":    {"已加签", "Signer added"},
		"tasks.done_comment":       {"已评论", "Comment added"},
		"tasks.no_return":          {"没有可退回的节点", "no step to return to"},
		"tasks.pending":            {"待处理人", "Waiting for"},
		"tasks.queued":             {"后续审批人", "Then"},
		"tasks.current":            {"当前节点", "Current step"},
		"tasks.yours":              {"你的待办", "Your task"},
		"tasks.withdraw":           {"撤回", "Withdraw"},
		"tasks.withdrawn":          {"已撤回", "Withdrawn"},
		"tasks.flow_status":        {"审批状态", "Approval status"},
		"tasks.mode.any":           {"或签", "any one"},
		"tasks.mode.all":           {"会签", "all"},
		"tasks.mode.sequence":      {"依次审批", "in turn"},
		"tasks.st.open":            {"待处理", "open"},
		"tasks.st.approved":        {"已同意", "approved"},
		"tasks.st.rejected":        {"已驳回", "rejected"},
		"tasks.st.returned":        {"已退回", "returned"},
		"tasks.st.transferred":     {"已转交", "transferred"},
		"tasks.st.cancelled":       {"已取消", "cancelled"},
		"tasks.st.withdrawn":       {"已撤回", "withdrawn"},
		"tasks.st.timed_out":       {"已超时", "timed out"},
		"tasks.st.running":         {"审批中", "in review"},
		"tasks.step.start":         {"发起", "started"},
		"tasks.step.task":          {"待审批", "waiting for"},
		"tasks.step.approve":       {"同意", "approved"},
		"tasks.step.reject":        {"驳回", "rejected"},
		"tasks.step.return":        {"退回", "returned"},
		"tasks.step.transfer":      {"转交", "transferred to"},
		"tasks.step.add_signer":    {"加签", "added signer"},
		"tasks.step.comment":       {"评论", "commented"},
		"tasks.step.withdraw":      {"撤回", "withdrew"},
		"tasks.step.remind":        {"催办", "reminded"},
		"tasks.step.escalate":      {"升级", "escalated to"},
		"tasks.step.timeout":       {"超时", "timed out"},
		"tasks.step.skip_self":     {"提交人不审批自己的记录，已跳过", "submitter passed over (may not decide their own record)"},
		"tasks.step.self_fallback": {"没有其他管理员，由提交人审批", "no other administrator: the submitter decides"},
		"tasks.step.cc":            {"抄送", "copied to"},
		"tasks.step.set":           {"自动更新字段", "fields set"},
		"tasks.step.set_failed":    {"自动更新失败", "setting fields failed"},
		"tasks.step.plugin":        {"调用插件", "plugin called"},
		"tasks.step.condition":     {"条件分支", "branch chosen"},
		"tasks.step.parallel":      {"并行分支", "parallel branches"},
		"tasks.step.end":           {"结束", "ended"},
		"tasks.step.approved":      {"审批通过", "approved in the end"},
		"tasks.step.rejected":      {"审批未通过", "rejected in the end"},
		"tasks.step.withdrawn":     {"已撤回", "withdrawn"},
		"tasks.step.create":        {"创建记录", "record created"},
		"tasks.step.update":        {"修改记录", "record changed"},
		"tasks.step.delete":        {"删除记录", "record deleted"},
		"tasks.step.restore":       {"恢复记录", "record restored"},
		"tasks.reason.timeout":     {"超时", "timeout"},
		"tasks.reason.no_assignee": {"没有审批人", "nobody to assign"},
	})
}
