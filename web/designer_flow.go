package web

// DesignerFlowsPage lists the workflows of a draft and starts a new one.
type DesignerFlowsPage struct {
	Page
	App     string
	AppName string
	AppURL  string
	Action  string // POST: creates a workflow
	Flows   []DesignerFlowItem
	Forms   []DesignerFormItem // the forms a new workflow may run on
	Error   string             // why the new workflow was refused
	// the new-workflow form as it was sent, kept when it is refused
	Form, Key, NameZh, NameEn string
}

// DesignerFlowItem is one workflow of a draft in the list.
type DesignerFlowItem struct {
	Key      string
	Name     string
	Form     string // the form's title
	Nodes    int
	Problems int
	URL      string
}

// DesignerFlowPage is the workflow designer: flow.js loads the draft from
// DraftURL and draws the workflow Key; rules are checked at RuleURL and
// runs simulated at SimulateURL, submitted by Me.
type DesignerFlowPage struct {
	Page
	App         string
	AppName     string
	AppURL      string
	FlowsURL    string
	PublishURL  string
	Key         string
	Name        string
	DraftURL    string
	RuleURL     string
	SimulateURL string
	Me          string // the signed-in user's email: the simulated submitter
}

// flowScriptMsgs are the catalogue keys the workflow script uses, without
// their "dz.f." prefix.
var flowScriptMsgs = []string{"saved", "saving", "conflict", "refused", "no_flow", "trigger", "on_create", "on_update",
	"on_missing", "always", "only_when", "add", "add_here", "type.approval", "type.cc", "type.condition", "type.parallel",
	"type.action", "type.end", "new.approval", "new.cc", "new.condition", "new.parallel", "new.action", "new.end",
	"branch", "branch_n", "otherwise", "otherwise_label", "add_branch", "remove_branch", "all_finish", "name_zh", "name_en",
	"assignees", "cc_to", "kind.roles", "kind.users", "kind.unit_head", "kind.field", "users_help", "levels", "level_0",
	"level_n", "no_roles", "no_member_fields", "mode", "mode.any", "mode.all", "mode.sequence", "mode.any_help",
	"mode.all_help", "mode.sequence_help", "fields", "field", "default_field", "perm.hidden", "perm.read", "perm.edit",
	"perm.masked", "timing", "remind", "deadline", "hours", "days", "none", "on_deadline", "act.escalate", "act.approve",
	"act.reject", "escalate_to", "delete_node", "confirm_delete", "set", "set_field", "set_expr", "set_add", "set_remove",
	"rows.join", "rows.all", "rows.any", "rows.add", "rows.remove", "rows.field", "rows.op", "rows.value",
	"rows.advanced", "rows.builder", "rows.expr", "rows.not_rows", "rows.checking", "op.eq", "op.ne", "op.gt", "op.ge",
	"op.lt", "op.le", "op.in", "op.not_in", "op.contains", "op.empty", "op.not_empty", "op.has", "yes", "no",
	"sim", "sim.open", "sim.run", "sim.intro", "sim.no_start", "sim.path", "sim.asks", "sim.informs", "sim.nobody",
	"sim.sets", "sim.branch", "sim.no_branch", "sim.parallel", "sim.end", "sim.fix_first", "sim.failed", "sim.done",
	"problems", "no_problems", "problem.assignees", "problem.branch", "problem.set", "problem.after", "problem.to",
	"problem.form", "problem.other", "problem.duplicate", "problem.unknown", "keys", "panel", "panel_hint", "close", "who_hint", "summary.unit_head",
	"summary.unit_head_n", "summary.field", "summary.users", "summary.none", "summary.set_n", "summary.rows_n",
	"summary.expr", "summary.otherwise", "summary.trigger", "summary.always", "move_up", "move_down", "menu"}

// flowBothMsgs are the texts a new node or branch is named with, in both
// languages.
var flowBothMsgs = []string{"new.approval", "new.cc", "new.condition", "new.parallel", "new.action", "new.end", "branch_n", "otherwise"}

// flowMsgs is the JSON the workflow script reads its texts from: the
// messages in lang, and under "both" the names of new nodes and branches
// in both languages.
func flowMsgs(lang string) map[string]any {
	m := map[string]any{}
	for _, k := range flowScriptMsgs {
		m[k] = Msg(lang, "dz.f."+k)
	}
	both := map[string]map[string]string{}
	for _, k := range flowBothMsgs {
		both[k] = map[string]string{"zh": Msg(LangZh, "dz.f."+k), "en": Msg(LangEn, "dz.f."+k)}
	}
	m["both"] = both
	return m
}

func init() {
	addMessages(map[string][2]string{
		"dz.flows_page":            {"设计审批流程", "Design approval flows"},
		"dz.f.title":               {"审批流程", "Approval flows"},
		"dz.f.intro":               {"记录新建或修改时，流程把它交给指定的人审批、抄送或自动修改字段。", "When a record is created or changed, a flow sends it to people to approve, tells others, or sets fields by itself."},
		"dz.f.no_flows":            {"还没有流程。", "There are no flows yet."},
		"dz.f.on_form":             {"表单「%s」", "form “%s”"},
		"dz.f.nodes_n":             {"%d 个节点", "%d steps"},
		"dz.f.problems_n":          {"%d 个问题", "%d problems"},
		"dz.f.new":                 {"新建流程", "New flow"},
		"dz.f.new.form":            {"用于表单", "For the form"},
		"dz.f.new.name_zh":         {"中文名称", "Name in Chinese"},
		"dz.f.new.name_en":         {"英文名称", "Name in English"},
		"dz.f.new.key":             {"流程标识（可不填，由英文名称生成）", "Flow key (leave empty to make it from the English name)"},
		"dz.f.new.submit":          {"创建", "Create"},
		"dz.f.new.no_form":         {"请选择草稿中的一个表单", "Choose a form of the draft"},
		"dz.f.new.name_missing":    {"请填写流程名称", "Enter the flow's name"},
		"dz.f.new.key_bad":         {"流程标识只能包含小写字母、数字和下划线，并以字母开头", "A flow key has lowercase letters, digits and _, starting with a letter"},
		"dz.f.new.key_taken":       {"已有这个标识的流程", "A flow with this key exists already"},
		"dz.f.back":                {"全部流程", "All flows"},
		"dz.f.saved":               {"已保存", "Saved"},
		"dz.f.saving":              {"正在保存…", "Saving…"},
		"dz.f.conflict":            {"其他人刚刚修改了这个应用，已为你载入最新内容；你最后的修改没有保存，请重新操作。", "Someone else just changed this app. Their version is loaded; your last change was not saved, please make it again."},
		"dz.f.refused":             {"修改未能保存，已重新载入草稿。", "The change could not be saved; the draft was loaded again."},
		"dz.f.no_flow":             {"草稿中没有这个流程。", "The draft has no such flow."},
		"dz.f.trigger":             {"发起", "Start"},
		"dz.f.on_create":           {"新建记录时", "When a record is created"},
		"dz.f.on_update":           {"修改记录时", "When a record is changed"},
		"dz.f.on_missing":          {"请至少选择一种发起时机。", "Choose at least one moment to start."},
		"dz.f.always":              {"所有记录", "Every record"},
		"dz.f.only_when":           {"仅当满足条件时", "Only when"},
		"dz.f.add":                 {"添加节点", "Add a step"},
		"dz.f.add_here":            {"在这里添加节点", "Add a step here"},
		"dz.f.menu":                {"选择要添加的节点", "Choose the step to add"},
		"dz.f.type.approval":       {"审批", "Approval"},
		"dz.f.type.cc":             {"抄送", "CC"},
		"dz.f.type.condition":      {"条件分支", "Condition"},
		"dz.f.type.parallel":       {"并行分支", "Parallel"},
		"dz.f.type.action":         {"自动设置字段", "Set fields"},
		"dz.f.type.end":            {"结束", "End"},
		"dz.f.new.approval":        {"审批人", "Approver"},
		"dz.f.new.cc":              {"抄送人", "CC"},
		"dz.f.new.condition":       {"条件分支", "Condition"},
		"dz.f.new.parallel":        {"并行分支", "Parallel"},
		"dz.f.new.action":          {"设置字段", "Set fields"},
		"dz.f.new.end":             {"结束", "End"},
		"dz.f.branch":              {"分支", "Branch"},
		"dz.f.branch_n":            {"分支 %d", "Branch %d"},
		"dz.f.otherwise":           {"其他情况", "Otherwise"},
		"dz.f.otherwise_label":     {"作为「其他情况」（以上条件都不满足时）", "Use as “otherwise” (when no condition above holds)"},
		"dz.f.add_branch":          {"添加分支", "Add a branch"},
		"dz.f.remove_branch":       {"删除分支", "Remove the branch"},
		"dz.f.all_finish":          {"各分支同时进行，全部完成后继续。", "The branches run at the same time; the flow goes on when all are done."},
		"dz.f.name_zh":             {"中文名称", "Name in Chinese"},
		"dz.f.name_en":             {"英文名称", "Name in English"},
		"dz.f.assignees":           {"审批人", "Approvers"},
		"dz.f.cc_to":               {"抄送给", "Tell"},
		"dz.f.kind.roles":          {"角色", "Roles"},
		"dz.f.kind.users":          {"指定成员", "Named people"},
		"dz.f.kind.unit_head":      {"发起人的主管", "The submitter's manager"},
		"dz.f.kind.field":          {"表单中的成员字段", "A member field of the form"},
		"dz.f.users_help":          {"填写邮箱，多个用逗号分隔", "Email addresses, separated by commas"},
		"dz.f.levels":              {"主管层级", "Which manager"},
		"dz.f.level_0":             {"直属主管", "Their direct manager"},
		"dz.f.level_n":             {"往上第 %d 级主管", "%d levels up"},
		"dz.f.no_roles":            {"应用还没有角色，请先在「角色与权限」中添加。", "The app has no roles yet; add them under roles and permissions."},
		"dz.f.no_member_fields":    {"表单中没有成员字段。", "The form has no member field."},
		"dz.f.mode":                {"多人审批时", "With several approvers"},
		"dz.f.mode.any":            {"或签", "Any one"},
		"dz.f.mode.all":            {"会签", "Everyone"},
		"dz.f.mode.sequence":       {"依次审批", "One after another"},
		"dz.f.mode.any_help":       {"一人同意即可", "one approval is enough"},
		"dz.f.mode.all_help":       {"需所有人同意", "all must approve"},
		"dz.f.mode.sequence_help":  {"按顺序逐个审批", "each in turn"},
		"dz.f.fields":              {"审批人可以看到和修改的字段", "What approvers may see and change"},
		"dz.f.field":               {"字段", "Field"},
		"dz.f.default_field":       {"其他字段", "Other fields"},
		"dz.f.perm.hidden":         {"隐藏", "Hidden"},
		"dz.f.perm.read":           {"只读", "Read only"},
		"dz.f.perm.edit":           {"可编辑", "Editable"},
		"dz.f.perm.masked":         {"脱敏", "Masked"},
		"dz.f.timing":              {"提醒与超时", "Reminder and deadline"},
		"dz.f.remind":              {"未处理时提醒，时间", "Remind after"},
		"dz.f.deadline":            {"处理期限", "Deadline after"},
		"dz.f.hours":               {"小时", "hours"},
		"dz.f.days":                {"天", "days"},
		"dz.f.none":                {"不设置", "None"},
		"dz.f.on_deadline":         {"超过期限后", "When the deadline passes"},
		"dz.f.act.escalate":        {"转交给", "Hand over to"},
		"dz.f.act.approve":         {"自动同意", "Approve by itself"},
		"dz.f.act.reject":          {"自动拒绝", "Reject by itself"},
		"dz.f.escalate_to":         {"转交给这些角色", "Hand over to these roles"},
		"dz.f.delete_node":         {"删除节点", "Delete the step"},
		"dz.f.confirm_delete":      {"删除「%s」？", "Delete “%s”?"},
		"dz.f.set":                 {"要设置的字段", "Fields to set"},
		"dz.f.set_field":           {"字段", "Field"},
		"dz.f.set_expr":            {"设为（公式）", "Set to (formula)"},
		"dz.f.set_add":             {"添加字段", "Add a field"},
		"dz.f.set_remove":          {"移除", "Remove"},
		"dz.f.rows.join":           {"条件之间", "Conditions"},
		"dz.f.rows.all":            {"全部满足", "all hold"},
		"dz.f.rows.any":            {"任一满足", "any holds"},
		"dz.f.rows.add":            {"添加条件", "Add a condition"},
		"dz.f.rows.remove":         {"删除条件", "Remove the condition"},
		"dz.f.rows.field":          {"字段", "Field"},
		"dz.f.rows.op":             {"条件", "Condition"},
		"dz.f.rows.value":          {"值", "Value"},
		"dz.f.rows.advanced":       {"高级：直接写公式", "Advanced: write a formula"},
		"dz.f.rows.builder":        {"改用条件行", "Use condition rows"},
		"dz.f.rows.expr":           {"条件公式", "Condition formula"},
		"dz.f.rows.not_rows":       {"这个条件无法用条件行表示，可以在高级模式中修改。", "This condition cannot be shown as rows; change it in advanced mode."},
		"dz.f.rows.checking":       {"正在检查…", "Checking…"},
		"dz.f.op.eq":               {"等于", "is"},
		"dz.f.op.ne":               {"不等于", "is not"},
		"dz.f.op.gt":               {"大于", "is more than"},
		"dz.f.op.ge":               {"大于等于", "is at least"},
		"dz.f.op.lt":               {"小于", "is less than"},
		"dz.f.op.le":               {"小于等于", "is at most"},
		"dz.f.op.in":               {"是其中之一", "is one of"},
		"dz.f.op.not_in":           {"不是其中任何一个", "is none of"},
		"dz.f.op.contains":         {"包含文字", "contains"},
		"dz.f.op.empty":            {"为空", "is empty"},
		"dz.f.op.not_empty":        {"不为空", "is not empty"},
		"dz.f.op.has":              {"包含选项", "has the option"},
		"dz.f.yes":                 {"是", "yes"},
		"dz.f.no":                  {"否", "no"},
		"dz.f.sim":                 {"模拟运行", "Try it"},
		"dz.f.sim.open":            {"模拟运行", "Try it"},
		"dz.f.sim.run":             {"模拟", "Simulate"},
		"dz.f.sim.intro":           {"填写示例值，看看记录会经过哪些节点、由谁审批。不会保存任何数据，也不会通知任何人。", "Enter sample values to see which steps a record would pass and who would be asked. Nothing is saved and no one is told."},
		"dz.f.sim.no_start":        {"这些值不满足发起条件，流程不会启动。", "These values do not meet the start condition: the flow would not start."},
		"dz.f.sim.path":            {"记录会经过：", "The record would pass:"},
		"dz.f.sim.asks":            {"审批人：%s", "asks %s"},
		"dz.f.sim.informs":         {"抄送：%s", "tells %s"},
		"dz.f.sim.nobody":          {"没有匹配的人，将转给系统管理员", "nobody matches: the administrators would be asked"},
		"dz.f.sim.sets":            {"设置：%s", "sets %s"},
		"dz.f.sim.branch":          {"走「%s」", "takes “%s”"},
		"dz.f.sim.no_branch":       {"没有满足条件的分支，直接继续", "no branch applies: it goes straight on"},
		"dz.f.sim.parallel":        {"同时进行：", "at the same time:"},
		"dz.f.sim.end":             {"流程结束", "the flow ends"},
		"dz.f.sim.fix_first":       {"请先解决流程中的问题再模拟。", "Solve the flow's problems before trying it."},
		"dz.f.sim.failed":          {"无法模拟：", "Cannot try it: "},
		"dz.f.sim.done":            {"审批全部通过后，流程结束。", "Once everyone approves, the flow ends."},
		"dz.f.problems":            {"问题", "Problems"},
		"dz.f.no_problems":         {"流程没有问题。", "The flow has no problems."},
		"dz.f.problem.assignees":   {"请选择审批人（角色、成员、主管或成员字段中的一种）", "Choose who: roles, named people, a manager or a member field"},
		"dz.f.problem.branch":      {"请为这个分支设置条件，或把它作为「其他情况」", "Set this branch's condition, or make it “otherwise”"},
		"dz.f.problem.set":         {"请选择要设置的字段", "Choose a field to set"},
		"dz.f.problem.after":       {"设置了超时后的处理，请填写处理期限", "Give the deadline for what happens when it passes"},
		"dz.f.problem.to":          {"请选择超时后转交给谁", "Choose whom to hand over to"},
		"dz.f.problem.form":        {"流程所用的表单不存在", "The flow's form does not exist"},
		"dz.f.problem.other":       {"这里的设置不完整", "This setting is incomplete"},
		"dz.f.problem.duplicate":   {"两个节点的标识相同", "Two steps have the same key"},
		"dz.f.problem.unknown":     {"有一项设置无法识别，发布前需要删除", "A setting here is not recognised; it must go before publishing"},
		"dz.f.keys":                {"键盘：Tab 移到节点，Enter 打开设置，Alt+↑/↓ 移动节点，Delete 删除节点。", "Keyboard: Tab to a step, Enter opens it, Alt+↑/↓ moves it, Delete removes it."},
		"dz.f.panel":               {"节点设置", "Step settings"},
		"dz.f.panel_hint":          {"点击流程中的节点进行设置。", "Click a step of the flow to set it."},
		"dz.f.close":               {"关闭", "Close"},
		"dz.f.who_hint":            {"请设置", "to be set"},
		"dz.f.summary.unit_head":   {"发起人的直属主管", "the submitter's manager"},
		"dz.f.summary.unit_head_n": {"发起人往上第 %d 级主管", "the submitter's manager, %d levels up"},
		"dz.f.summary.field":       {"「%s」中的成员", "the person in “%s”"},
		"dz.f.summary.users":       {"%s", "%s"},
		"dz.f.summary.none":        {"未设置", "not set"},
		"dz.f.summary.set_n":       {"设置 %d 个字段", "sets %d field(s)"},
		"dz.f.summary.rows_n":      {"%d 个条件", "%d condition(s)"},
		"dz.f.summary.expr":        {"已设置条件", "condition set"},
		"dz.f.summary.otherwise":   {"以上都不满足时", "when none above holds"},
		"dz.f.summary.trigger":     {"%s", "%s"},
		"dz.f.summary.always":      {"所有记录", "every record"},
		"dz.f.move_up":             {"上移", "Move up"},
		"dz.f.move_down":           {"下移", "Move down"},
	})
}
