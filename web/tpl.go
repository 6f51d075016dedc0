package web

import (
	"fmt"
	"strings"
)

// The template gallery (模板中心): view models of its three pages. The
// server fills them; the components in tpl.templ only draw them.

// TplGalleryPage lists the built-in templates.
type TplGalleryPage struct {
	Page
	Cards []TplCard
}

// TplCard is one template on the gallery page.
type TplCard struct {
	Name          string // template name (crm, dealership)
	Title         string
	Description   string
	Version       string // the template's own version
	Forms         int
	Roles         int
	Workflows     int
	SampleRecords int
	PreviewURL    string
	ImportURL     string
	Installed     *TplInstalled // nil: not imported yet
}

// TplInstalled is the app a template was imported as.
type TplInstalled struct {
	Version    int    // published version
	AppVersion string // the bundle version it was published from
	Current    bool   // the installed bundle version is the template's
	AppURL     string
}

// TplPreviewPage shows a template's forms, roles and workflows, and the
// import form (with the upgrade report on a re-import).
type TplPreviewPage struct {
	Page
	Card      TplCard
	Forms     []TplForm
	Roles     []TplRole
	Workflows []TplWorkflow
	Plan      *TplPlan // set on a re-import
	Error     string   // why the last import was refused
}

// TplForm is one form of a template with its fields.
type TplForm struct {
	Key    string
	Title  string
	Fields []TplField
}

// TplField is one field of a form in the preview.
type TplField struct {
	Key       string
	Label     string
	Widget    string
	Required  bool
	Sensitive string // the masking kind (phone, id_number …), "" if none
	Computed  bool
	Indexed   bool
}

// TplRole is one role of a template: what it may do on each form.
type TplRole struct {
	Key   string
	Name  string
	MFA   bool
	Forms []TplRoleForm
}

// TplRoleForm is a role's permission on one form.
type TplRoleForm struct {
	Form       string
	Operations string
	Scope      string
	Masked     []string // field labels the role sees masked
	Hidden     []string // field labels the role never sees
}

// TplWorkflow is one workflow of a template with its nodes.
type TplWorkflow struct {
	Key   string
	Name  string
	Form  string
	Nodes []TplNode
}

// TplNode is one node of a workflow (branches nested).
type TplNode struct {
	Key       string
	Type      string
	Name      string
	Assignees string
	Branches  []TplBranch
}

// TplBranch is one path of a condition or parallel node.
type TplBranch struct {
	Name  string
	When  string
	Nodes []TplNode
}

// TplPlan is the upgrade report of a re-import.
type TplPlan struct {
	From, To      int
	AddedForms    []string
	RemovedForms  []string
	AddedFields   []string
	RemovedFields []string
	Orphans       []string // data an upgrade would orphan, as sentences
}

// TplJobPage follows a sample-data import.
type TplJobPage struct {
	Page
	JobID    string
	PollURL  string // the JSON progress endpoint tpl.js polls
	AppTitle string
	State    string
	Done     int
	Total    int
	Forms    []TplJobForm
	Error    string
	AppURL   string
}

// TplJobForm is one form's progress.
type TplJobForm struct {
	Key   string
	Title string
	Done  int
	Total int
}

// Percent is done as a whole percentage of total.
func Percent(done, total int) int {
	if total <= 0 {
		return 100
	}
	return done * 100 / total
}

func init() {
	addMessages(map[string][2]string{
		"tpl.title":                {"模板中心", "Templates"},
		"tpl.intro":                {"从现成的应用模板开始：一键导入，可选带示例数据。", "Start from a ready-made app: import it in one click, with or without sample data."},
		"tpl.forms":                {"表单", "Forms"},
		"tpl.roles":                {"角色", "Roles"},
		"tpl.workflows":            {"流程", "Workflows"},
		"tpl.samples":              {"示例记录", "Sample records"},
		"tpl.version":              {"模板版本", "Template version"},
		"tpl.not_installed":        {"尚未导入", "Not imported yet"},
		"tpl.installed":            {"已导入：第 %d 版（%s）", "Imported: version %d (%s)"},
		"tpl.newer":                {"模板有新版本", "A newer template version is available"},
		"tpl.preview":              {"预览", "Preview"},
		"tpl.import":               {"一键导入", "Import"},
		"tpl.upgrade":              {"重新导入（升级）", "Re-import (upgrade)"},
		"tpl.with_samples":         {"同时导入示例数据", "Also import the sample data"},
		"tpl.open_app":             {"打开应用", "Open the app"},
		"tpl.back":                 {"返回模板中心", "Back to Templates"},
		"tpl.fields":               {"字段", "Fields"},
		"tpl.field":                {"字段", "Field"},
		"tpl.key":                  {"标识", "Key"},
		"tpl.widget":               {"控件", "Widget"},
		"tpl.required":             {"必填", "Required"},
		"tpl.sensitive":            {"敏感（%s）", "Sensitive (%s)"},
		"tpl.computed":             {"公式", "Formula"},
		"tpl.indexed":              {"可搜索", "Searchable"},
		"tpl.operations":           {"操作", "Operations"},
		"tpl.scope":                {"数据范围", "Data scope"},
		"tpl.masked":               {"脱敏显示", "Masked"},
		"tpl.hidden":               {"不可见", "Hidden"},
		"tpl.none":                 {"无", "none"},
		"tpl.mfa":                  {"需要两步验证", "Two-factor login required"},
		"tpl.form_of":              {"表单：%s", "Form: %s"},
		"tpl.nodes":                {"节点", "Nodes"},
		"tpl.branch_else":          {"其他情况", "otherwise"},
		"tpl.scope.own":            {"本人", "own records"},
		"tpl.scope.unit":           {"本部门", "own unit"},
		"tpl.scope.unit_and_below": {"本部门及下级", "own unit and below"},
		"tpl.scope.all":            {"全部", "all"},
		"tpl.scope.filter":         {"按条件", "by filter"},
		"tpl.node.approval":        {"审批", "approval"},
		"tpl.node.condition":       {"条件", "condition"},
		"tpl.node.parallel":        {"并行", "parallel"},
		"tpl.node.cc":              {"抄送", "CC"},
		"tpl.node.action":          {"动作", "action"},
		"tpl.node.end":             {"结束", "end"},
		"tpl.plan.title":           {"升级报告", "Upgrade report"},
		"tpl.plan.versions":        {"将从第 %d 版升级到第 %d 版，已有记录保留。", "Version %d will be upgraded to version %d; existing records are kept."},
		"tpl.plan.added_forms":     {"新增表单", "Forms added"},
		"tpl.plan.removed_forms":   {"删除表单", "Forms removed"},
		"tpl.plan.added_fields":    {"新增字段", "Fields added"},
		"tpl.plan.removed_fields":  {"删除字段", "Fields removed"},
		"tpl.plan.orphans":         {"以下数据将被丢弃", "This data would be orphaned"},
		"tpl.plan.no_orphans":      {"不会丢弃任何数据。", "No data would be orphaned."},
		"tpl.plan.confirm":         {"我已阅读升级报告，确认升级", "I have read the upgrade report; apply the upgrade"},
		"tpl.plan.need_confirm":    {"请先勾选确认升级", "Please confirm the upgrade first"},
		"tpl.imported":             {"已导入 %s 第 %d 版", "Imported %s as version %d"},
		"tpl.job.title":            {"正在导入示例数据", "Importing the sample data"},
		"tpl.job.records":          {"%d / %d 条记录", "%d / %d records"},
		"tpl.job.queued":           {"排队中", "Queued"},
		"tpl.job.running":          {"导入中", "Importing"},
		"tpl.job.done":             {"导入完成", "Import finished"},
		"tpl.job.failed":           {"导入失败", "Import failed"},
		"tpl.job.progress":         {"导入进度", "Import progress"},
	})
}

// tplf formats a message of the catalogue.
func tplf(lang, key string, args ...any) string { return fmt.Sprintf(Msg(lang, key), args...) }

// tplJoin lists items the way the language does ("、" or ", "), or
// "none".
func tplJoin(lang string, items []string) string {
	if len(items) == 0 {
		return Msg(lang, "tpl.none")
	}
	sep := "、"
	if lang == LangEn {
		sep = ", "
	}
	return strings.Join(items, sep)
}
