package web

// View models of the temporary access request pages.

// GrantRequestPage is the form to ask for temporary access, with the
// user's earlier requests below it.
type GrantRequestPage struct {
	Page
	Forms    []Option // app/form pairs
	Ops      []Option // operations to tick
	Scopes   []Option
	Reason   string
	Days     string
	Errors   []string
	Requests []GrantRequestRow
	Pending  []PendingRequestRow // requests waiting for this user's decision
}

// GrantRequestRow is one of the user's requests.
type GrantRequestRow struct {
	ID      string
	What    string
	Scope   string
	Reason  string
	Expires string
	Status  string
	Created string
	Grant   string
}

// PendingRequestRow is a request waiting for approval, with the link that
// acts on it: the viewer's task when they hold one, else the request's
// record page (where its flow shows who it waits for).
type PendingRequestRow struct {
	ID         string
	User       string
	What       string
	Scope      string
	Reason     string
	Expires    string
	Created    string
	WaitingFor string
	ActURL     string
	Decide     bool // ActURL is the viewer's own task
}

func init() {
	addMessages(map[string][2]string{
		"tasks.grant.title":                {"申请临时访问权限", "Request temporary access"},
		"tasks.grant.intro":                {"说明需要访问的表单、操作和理由。申请由访问审批人（默认为系统管理员）审批，批准后权限在到期时自动收回。", "Say which form, which operations and why. An access approver (by default the system administrators) decides; an approved grant ends by itself at its expiry."},
		"tasks.grant.form":                 {"应用 / 表单", "App / form"},
		"tasks.grant.ops":                  {"操作", "Operations"},
		"tasks.grant.scope":                {"数据范围", "Data scope"},
		"tasks.grant.reason":               {"理由", "Reason"},
		"tasks.grant.days":                 {"期限（天，1–30）", "For how many days (1–30)"},
		"tasks.grant.submit":               {"提交申请", "Send the request"},
		"tasks.grant.sent":                 {"申请已提交，等待审批", "Request sent; waiting for approval"},
		"tasks.grant.mine":                 {"我的申请", "My requests"},
		"tasks.grant.none":                 {"还没有申请。", "No requests yet."},
		"tasks.grant.expires":              {"到期", "Expires"},
		"tasks.grant.granted":              {"授权编号", "Grant"},
		"tasks.grant.op.create":            {"新建", "create"},
		"tasks.grant.op.read":              {"查看", "read"},
		"tasks.grant.op.update":            {"修改", "update"},
		"tasks.grant.op.delete":            {"删除", "delete"},
		"tasks.grant.op.export":            {"导出", "export"},
		"tasks.grant.op.import":            {"导入", "import"},
		"tasks.grant.op.print":             {"打印", "print"},
		"tasks.grant.scope.own":            {"本人", "own records"},
		"tasks.grant.scope.unit":           {"本单位", "my unit"},
		"tasks.grant.scope.unit_and_below": {"本单位及下级", "my unit and below"},
		"tasks.grant.scope.all":            {"全部", "all records"},
		"tasks.grant.bad_days":             {"期限须为 1 到 30 天", "the period must be 1 to 30 days"},
		"tasks.st.in_review":               {"审批中", "in review"},
		"tasks.grant.pending":              {"待我审批的申请", "Requests waiting for my decision"},
		"tasks.grant.requester":            {"申请人", "Requested by"},
		"tasks.grant.waiting":              {"等待", "Waiting for"},
		"tasks.grant.decide":               {"审批", "Decide"},
		"tasks.grant.view":                 {"查看", "View"},
	})
}
