package web

// View models of the access administration pages (units, users, grants,
// explain) and the MFA pages. The handlers in server/page_admin.go fill
// them; the components in admin.templ draw them.

// AdminNav is the admin pages' sub-navigation; Current is the active key.
type AdminNav struct {
	Current string
	Auditor bool // the viewer is an auditor: only the audit log and explain
}

type adminNavItem struct{ key, href string }

// items are the admin pages the viewer may open.
func (n AdminNav) items() []adminNavItem {
	if n.Auditor {
		return []adminNavItem{{"audit", "/admin/audit"}, {"alerts", "/admin/alerts"}, {"explain", "/admin/explain"}}
	}
	return []adminNavItem{{"overview", "/admin"}, {"units", "/admin/units"}, {"users", "/admin/users"}, {"grants", "/admin/grants"},
		{"audit", "/admin/audit"}, {"alerts", "/admin/alerts"}, {"explain", "/admin/explain"}, {"backups", "/admin/backups"}, {"mail", "/admin/mail"}}
}

// AdminOverviewPage is /admin.
type AdminOverviewPage struct {
	Page
	AdminNav
	Units, Users, Frozen, Admins, ActiveGrants, Apps int
	MFAEnrolled                                      int
}

// AdminUnitsPage is the unit tree with the create and head forms.
type AdminUnitsPage struct {
	Page
	AdminNav
	Units []AdminUnit
	Users []Choice // candidates for heads
	Error string
	Form  AdminUnitForm // the refused create, kept
}

// AdminUnit is one unit of the tree, with its depth for indentation.
type AdminUnit struct {
	Key      string
	Name     string
	Depth    int
	Head     string // the head's display name
	HeadID   string
	Children int
	Members  int
}

// AdminUnitForm is the create-unit form's values.
type AdminUnitForm struct {
	Key, NameZh, NameEn, Parent string
}

// Choice is one option of a select: a value and its label.
type Choice struct {
	Value string
	Label string
}

// AdminUsersPage is the user list with search and the create form.
type AdminUsersPage struct {
	Page
	AdminNav
	Query string
	Users []AdminUserRow
	Units []Choice
	Error string
	Form  AdminUserForm
}

// AdminUserRow is one user in the list.
type AdminUserRow struct {
	ID, Name, Email, Unit, Roles string
	Admin, Auditor, Frozen       bool
	URL                          string
}

// AdminUserForm is the create-user form's values.
type AdminUserForm struct {
	Email, Name, Unit string
	Admin, Auditor    bool
}

// AdminUserPage is one user: unit, roles per app, freeze and reassignment.
type AdminUserPage struct {
	Page
	AdminNav
	ID, Name, Email, Unit       string
	Admin, Auditor, Frozen, MFA bool
	Units                       []Choice
	Apps                        []AdminUserApp
	Heirs                       []Choice // active users who may take over the records
	Owned                       int64    // live records the user owns
	Reassign                    *AdminReassign
	TasksEnabled                bool   // the workflow runtime runs here
	OpenTasks                   int    // open approval tasks the user holds
	StatusURL                   string // JSON progress of the reassignment, polled by admin.js
	Error                       string
	OneTimePassword             string // just reset: shown only on this answer
}

// AdminUserApp is one app with its roles, ticked when the user holds them.
type AdminUserApp struct {
	Key, Name string
	Roles     []AdminRoleChoice
}

// AdminRoleChoice is one role checkbox.
type AdminRoleChoice struct {
	Key, Name, ID string
	MFA, Held     bool
}

// AdminReassign is a reassignment's progress.
type AdminReassign struct {
	ID, To, Status string
	Moved, Total   int64
	Percent        int
	Done           bool
}

// AdminGrantsPage lists grants by state, with the grant form.
type AdminGrantsPage struct {
	Page
	AdminNav
	Pending         []PendingRequestRow
	Active, Expired []AdminGrantRow
	Users           []Choice
	Forms           []Choice // "app/form"
	Error           string
	Form            AdminGrantForm
}

// AdminGrantRow is one grant.
type AdminGrantRow struct {
	ID, User, Form, Ops, Fields, Scope, Reason, By, Expires, State string
	RevokeURL                                                      string // empty unless active
}

// AdminGrantForm is the grant form's values.
type AdminGrantForm struct {
	User, Form, Scope, Fields, Reason, Hours string
	Ops                                      map[string]bool
}

// AdminExplainPage is the explain tool: the question and, once asked, the answer.
type AdminExplainPage struct {
	Page
	AdminNav
	Users        []Choice
	Forms        []Choice // "app/form"
	User, Form   string
	Record, Fld  string
	IP           string
	Asked        bool
	Error        string
	Decision     string
	Operations   string
	InScope      string
	FieldPerm    string
	Frozen       bool
	Rules        []AdminExplainRule
	PolicyDenied []string
}

// AdminExplainRule is one role or grant behind a decision.
type AdminExplainRule struct {
	Source, Ops, Scope, Fields, Reason, Expires string
	Applies                                     bool
}

// MFAEnrolPage is the two-factor enrolment: the QR code and the confirm
// form, then the recovery codes (shown once).
type MFAEnrolPage struct {
	Page
	QR       string // data:image/png;base64,…
	Secret   string
	Codes    []string
	Error    string
	Required bool   // the user's role needs it: they cannot skip
	Action   string // where the confirm form posts
	Next     string
}

// adminMessages is the admin area's catalogue.
var adminMessages = map[string][2]string{
	"admin.title":               {"系统管理", "Administration"},
	"admin.nav.overview":        {"概览", "Overview"},
	"admin.nav.units":           {"组织单位", "Units"},
	"admin.nav.users":           {"用户", "Users"},
	"admin.nav.grants":          {"临时授权", "Grants"},
	"admin.nav.explain":         {"权限解释", "Explain"},
	"admin.nav.backups":         {"备份", "Backups"},
	"admin.backups.title":       {"备份", "Backups"},
	"admin.backups.off":         {"本进程不自动备份（MongoDB 或 FORMWORK_BACKUP_EVERY=off）。", "This process takes no backups (MongoDB, or FORMWORK_BACKUP_EVERY=off)."},
	"admin.backups.none":        {"还没有备份：服务启动 10 分钟后做第一次。", "No backups yet: the first is taken 10 minutes after the server starts."},
	"admin.backups.time":        {"时间", "Taken"},
	"admin.backups.file":        {"文件", "File"},
	"admin.backups.size":        {"大小", "Size"},
	"admin.backups.help":        {"在服务器上用 formwork backup verify 文件 检查，用 formwork backup restore 文件 --data 新目录 恢复（需要备份密钥和主密钥）。", "Check one on the server with formwork backup verify FILE; restore with formwork backup restore FILE --data NEWDIR (needs the backup key and the master key)."},
	"admin.count.units":         {"单位", "Units"},
	"admin.count.users":         {"用户", "Users"},
	"admin.count.frozen":        {"已冻结", "Frozen"},
	"admin.count.admins":        {"管理员", "Administrators"},
	"admin.count.grants":        {"生效中的授权", "Active grants"},
	"admin.count.apps":          {"应用", "Apps"},
	"admin.count.mfa":           {"已启用两步验证", "With two-factor"},
	"admin.units.title":         {"组织单位", "Organisation units"},
	"admin.units.new":           {"新建单位", "New unit"},
	"admin.units.key":           {"编码", "Key"},
	"admin.units.name_zh":       {"中文名称", "Chinese name"},
	"admin.units.name_en":       {"英文名称", "English name"},
	"admin.units.parent":        {"上级单位", "Parent unit"},
	"admin.units.root":          {"（根单位）", "(root unit)"},
	"admin.units.head":          {"负责人", "Head"},
	"admin.units.set_head":      {"设置负责人", "Set head"},
	"admin.units.no_head":       {"（无）", "(none)"},
	"admin.units.members":       {"成员", "members"},
	"admin.units.create":        {"创建单位", "Create unit"},
	"admin.units.created":       {"单位已创建", "Unit created"},
	"admin.units.head_set":      {"负责人已更新", "Head updated"},
	"admin.users.title":         {"用户", "Users"},
	"admin.users.search":        {"按姓名或邮箱搜索", "Search by name or email"},
	"admin.users.new":           {"新建用户", "New user"},
	"admin.users.name":          {"姓名", "Name"},
	"admin.users.email":         {"邮箱", "Email"},
	"admin.users.password":      {"初始密码", "Initial password"},
	"admin.users.unit":          {"所属单位", "Unit"},
	"admin.users.roles":         {"角色", "Roles"},
	"admin.users.admin":         {"系统管理员", "Administrator"},
	"admin.users.state":         {"状态", "State"},
	"admin.users.active":        {"正常", "Active"},
	"admin.users.frozen":        {"已冻结", "Frozen"},
	"admin.users.create":        {"创建用户", "Create user"},
	"admin.users.none":          {"没有匹配的用户", "No matching users"},
	"admin.users.edit":          {"编辑", "Edit"},
	"admin.user.unit_save":      {"保存单位", "Save unit"},
	"admin.user.roles_save":     {"保存角色", "Save roles"},
	"admin.user.roles_of":       {"应用内角色", "Roles in the app"},
	"admin.user.mfa_role":       {"需要两步验证", "needs two-factor"},
	"admin.user.no_apps":        {"尚未导入应用", "No apps imported yet"},
	"admin.user.saved":          {"已保存", "Saved"},
	"admin.user.mfa":            {"两步验证", "Two-factor"},
	"admin.user.mfa_on":         {"已启用", "On"},
	"admin.user.mfa_off":        {"未启用", "Off"},
	"admin.user.mfa_reset":      {"重置两步验证", "Reset two-factor"},
	"admin.user.freeze":         {"冻结账号", "Freeze account"},
	"admin.user.freeze_help":    {"冻结后该用户的下一次请求即被拒绝（423），在所有节点上、无论会话还是 API 令牌；解除冻结时这些会话和令牌一并作废。", "Freezing refuses the user's very next request (423) on every node, sessions and API tokens alike; unfreezing revokes those sessions and tokens."},
	"admin.user.unfreeze":       {"解除冻结", "Unfreeze"},
	"admin.user.frozen_flash":   {"账号已冻结。可以把其记录转给其他用户。", "The account is frozen. You can hand their records to someone else."},
	"admin.user.offboard":       {"离职交接", "Offboarding"},
	"admin.user.owned":          {"名下记录", "Records owned"},
	"admin.user.reassign_to":    {"转给", "Hand over to"},
	"admin.user.reassign":       {"转移记录", "Reassign records"},
	"admin.user.reassign_help":  {"记录在后台逐批转移，每条记录都会留下修订和审计记录。", "Records move in the background in batches; each gets a revision and an audit event."},
	"admin.user.open_tasks":     {"待办审批任务", "Open approval tasks"},
	"admin.user.reassign_tasks": {"移交审批任务", "Hand over approval tasks"},
	"admin.user.reassign_tasks_help": {"每个任务都以转交记入审批时间线和审计日志。接收人须是该节点本可指派的人或本来就能查看该记录的人，且不能是提交人；不符合的任务保留原处并说明原因。",
		"Each task moves as a transfer, on the approval's timeline and in the audit log. The new approver must be someone the step could have named or who may read the record anyway, and never its submitter; tasks they may not take stay, with the reason."},
	"admin.user.tasks_moved":     {"已移交 %d 个审批任务。", "%d approval tasks handed over."},
	"admin.user.tasks_left":      {"%d 个任务未移交：%s", "%d stayed: %s"},
	"admin.user.progress":        {"转移进度", "Reassignment progress"},
	"admin.user.progress_done":   {"转移完成", "Reassignment finished"},
	"admin.user.freeze_first":    {"先冻结账号，才能转移其记录。", "Freeze the account first to reassign its records."},
	"admin.grants.title":         {"临时授权", "Temporary grants"},
	"admin.grants.pending":       {"待审批", "Pending"},
	"admin.grants.pending_none":  {"没有待审批的授权申请。用户在“权限申请”页提交的申请在审批前显示在这里。", "No pending requests. What users ask for on the Access requests page shows here until it is decided."},
	"admin.grants.active":        {"生效中", "Active"},
	"admin.grants.expired":       {"已过期或撤销", "Expired or revoked"},
	"admin.grants.none":          {"无", "None"},
	"admin.grants.new":           {"直接授权", "Grant directly"},
	"admin.grants.user":          {"用户", "User"},
	"admin.grants.form":          {"表单", "Form"},
	"admin.grants.ops":           {"操作", "Operations"},
	"admin.grants.fields":        {"字段权限", "Field permissions"},
	"admin.grants.fields_help":   {"每行一个，如 phone=read（read、edit、masked、hidden）", "One per line, e.g. phone=read (read, edit, masked, hidden)"},
	"admin.grants.scope":         {"数据范围", "Data scope"},
	"admin.grants.reason":        {"理由", "Reason"},
	"admin.grants.hours":         {"有效小时数", "Hours valid"},
	"admin.grants.by":            {"授权人", "Granted by"},
	"admin.grants.expires":       {"到期", "Expires"},
	"admin.grants.state":         {"状态", "State"},
	"admin.grants.grant":         {"授权", "Grant"},
	"admin.grants.revoke":        {"撤销", "Revoke"},
	"admin.grants.granted":       {"已授权", "Granted"},
	"admin.grants.revoked":       {"已撤销", "Revoked"},
	"admin.grants.expired_s":     {"已过期", "Expired"},
	"admin.scope.own":            {"本人", "Own"},
	"admin.scope.unit":           {"本单位", "Unit"},
	"admin.scope.unit_and_below": {"本单位及下级", "Unit and below"},
	"admin.scope.all":            {"全部", "All"},
	"admin.explain.title":        {"权限解释", "Explain access"},
	"admin.explain.help":         {"选择用户和表单，可选记录和字段，查看结论以及产生结论的角色、授权、数据范围和策略。", "Pick a user and a form, optionally a record and a field, to see the decision and the roles, grants, scopes and policies behind it."},
	"admin.explain.user":         {"用户", "User"},
	"admin.explain.form":         {"表单", "Form"},
	"admin.explain.record":       {"记录编号（可选）", "Record id (optional)"},
	"admin.explain.field":        {"字段（可选）", "Field (optional)"},
	"admin.explain.ip":           {"来源 IP（可选）", "Client IP (optional)"},
	"admin.explain.ask":          {"解释", "Explain"},
	"admin.explain.decision":     {"结论", "Decision"},
	"admin.explain.ops":          {"可执行操作", "Operations"},
	"admin.explain.in_scope":     {"记录在数据范围内", "Record in scope"},
	"admin.explain.field_perm":   {"字段权限", "Field permission"},
	"admin.explain.rules":        {"角色与授权", "Roles and grants"},
	"admin.explain.source":       {"来源", "Source"},
	"admin.explain.applies":      {"生效", "Applies"},
	"admin.explain.why_not":      {"未生效原因", "Why not"},
	"admin.explain.policies":     {"未满足访问策略的角色", "Roles whose access policy does not hold"},
	"admin.explain.frozen":       {"该用户已冻结：所有请求都被拒绝。", "This user is frozen: every request is refused."},
	"admin.yes":                  {"是", "yes"},
	"admin.no":                   {"否", "no"},
	"mfa.title":                  {"两步验证", "Two-factor authentication"},
	"mfa.code":                   {"验证码", "Code"},
	"mfa.code_help":              {"输入验证器应用中的 6 位数字，或一个恢复码。", "Enter the 6 digits from your authenticator app, or a recovery code."},
	"mfa.verify":                 {"验证", "Verify"},
	"mfa.enrol_title":            {"启用两步验证", "Set up two-factor authentication"},
	"mfa.enrol_required":         {"你的角色要求两步验证。完成绑定后才能继续。", "Your role requires two-factor authentication. Finish setting it up to continue."},
	"mfa.enrol_scan":             {"用验证器应用扫描二维码，或手动输入密钥，然后输入应用显示的验证码。", "Scan the QR code with an authenticator app, or type the key, then enter the code the app shows."},
	"mfa.secret":                 {"密钥", "Key"},
	"mfa.qr_alt":                 {"两步验证二维码", "Two-factor QR code"},
	"mfa.confirm":                {"确认绑定", "Confirm"},
	"mfa.codes_title":            {"恢复码", "Recovery codes"},
	"mfa.codes_help":             {"每个恢复码只能使用一次，且只显示这一次。请妥善保存。", "Each recovery code works once and is shown only now. Keep them somewhere safe."},
	"mfa.continue":               {"继续", "Continue"},
	"mfa.enrol_link":             {"启用两步验证", "Set up two-factor"},
	"mfa.already":                {"已启用两步验证。", "Two-factor authentication is on."},
}

func init() { addMessages(adminMessages) }

// MFAStepPage is the second step of a login: the TOTP (or recovery) code.
// Reauth makes it the page that asks a signed-in user for the code again
// (posting to /reauth, with why it asks).
type MFAStepPage struct {
	Page
	Next   string
	Error  string
	Reauth bool
}

func (v MFAStepPage) action() string {
	if v.Reauth {
		return "/reauth"
	}
	return "/login/mfa"
}
