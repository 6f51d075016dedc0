package web

import "strings"

// DesignerStart is the start choices of the designer's home page as they
// were sent, kept when one is refused: Choice names the card the error
// belongs to (blank, template, copy or sheet).
type DesignerStart struct {
	Choice   string
	Template string // the template chosen
	Source   string // the app to copy
}

// DesignerTemplateItem is a built-in template one may start an app from.
type DesignerTemplateItem struct {
	Name        string // as the templates package names it
	Key         string // the app key it would suggest
	Title       string
	Description string
	Forms       int
	Samples     int
}

// DesignerPreviewPage is an app's draft as one person would see it: a
// form to fill in, a list of sample records and one of them opened, all
// drawn by the staff pages' own renderer from the engine's preview.
type DesignerPreviewPage struct {
	Page
	App     string
	AppName string
	AppURL  string
	Action  string // GET: the same page with another form or person
	// the choice of form and person
	Forms             []Option
	Roles             []Option
	Units             []Option
	Form, Role, Unit  string
	User              string // email of a real user, instead of role and unit
	Error             string
	As                string   // whom the preview shows it as
	Operations        []string // what that person may do, in words
	Ready             bool     // a form and a person are chosen and the preview worked
	FormTitle         string
	Sections          []Section // the form, filled with Values
	Errors            []string  // errors not tied to a visible field
	RulesURL          string    // where the form asks for its rules' verdict
	PostURL           string    // where the typed values are sent to be shown as a record
	Columns           []Column  // the list's columns
	Rows              []Row
	Record            []Value // the opened record, as read
	RecordN           int     // which sample record is opened (1-based); 0 = the typed values
	Typed             bool    // the record shown is the values typed into the form
	NoSamples, Hidden bool    // the draft has no sample records; some fields are hidden from this person
}

// DesignerDesignersPage is the list of an app's designers that an
// administrator edits.
type DesignerDesignersPage struct {
	Page
	App     string
	AppName string
	AppURL  string
	Action  string
	Users   []DesignerUser // named now
	Pick    []DesignerUser // everyone one may name
	Error   string
	Flash   string
}

// DesignerUser is a user as the designers page lists them.
type DesignerUser struct {
	ID, Name, Email string
	Chosen          bool
}

// rolesMoreMsgs are the catalogue keys roles_more.js uses, without their
// "dz.s.r." prefix (the script reads them as "s.r.…").
var rolesMoreMsgs = []string{"settings", "name_zh", "name_en", "key", "key_fixed", "mfa", "hours", "weekdays",
	"wd.1", "wd.2", "wd.3", "wd.4", "wd.5", "wd.6", "wd.7", "ip", "holders", "holders_link",
	"c.when", "c.when_end", "c.join", "c.all", "c.any", "c.field", "c.op", "c.value", "c.add", "c.remove", "c.fixed",
	"c.me", "c.my_unit", "c.list_hint",
	"c.op.eq", "c.op.ne", "c.op.gt", "c.op.ge", "c.op.lt", "c.op.le", "c.op.in", "c.op.not_in", "c.op.contains", "c.op.empty", "c.op.not_empty"}

func init() {
	addMessages(map[string][2]string{
		"dz.s.start":            {"开始一个新应用", "Start a new app"},
		"dz.s.blank":            {"空白应用", "Blank app"},
		"dz.s.blank_hint":       {"从一张空表单开始，自己拖入字段。", "Start with an empty form and drag in your own fields."},
		"dz.s.template":         {"从模板开始", "From a template"},
		"dz.s.template_hint":    {"以现成的应用为起点，创建后可以随意修改。", "Start from a ready-made app and change anything you like."},
		"dz.s.template_pick":    {"模板", "Template"},
		"dz.s.template_n":       {"%d 张表单，%d 条示例数据", "%d forms, %d sample records"},
		"dz.s.copy":             {"复制已有应用", "Copy an app"},
		"dz.s.copy_hint":        {"以已发布应用的当前版本为起点，原应用不受影响。", "Start from the published version of an app; the original stays as it is."},
		"dz.s.copy_pick":        {"要复制的应用", "App to copy"},
		"dz.s.sheet":            {"从 Excel 表格开始", "From an Excel sheet"},
		"dz.s.sheet_hint":       {"表格第一行作为字段名，按内容猜测字段类型；首次发布时可以把表格中的各行导入为记录。", "The first row becomes the fields, their types guessed from the values; the rows can be imported as records when you first publish."},
		"dz.s.file":             {"Excel 文件（.xlsx 或 .csv）", "Excel file (.xlsx or .csv)"},
		"dz.s.name_optional":    {"名称（可不填）", "Name (optional)"},
		"dz.s.key_hint":         {"小写字母、数字和下划线，以字母开头，创建后不能更改", "lowercase letters, digits and _, starting with a letter; fixed once created"},
		"dz.s.submit_template":  {"用模板创建", "Create from template"},
		"dz.s.submit_copy":      {"复制", "Copy"},
		"dz.s.submit_sheet":     {"上传并创建", "Upload and create"},
		"dz.s.choose":           {"请选择", "Choose…"},
		"dz.s.no_template":      {"请选择一个模板", "Choose a template"},
		"dz.s.no_source":        {"请选择要复制的应用", "Choose the app to copy"},
		"dz.s.not_published":    {"这个应用还没有发布过，不能复制；请先发布它", "This app was never published, so it cannot be copied yet; publish it first"},
		"dz.s.no_file":          {"请选择要上传的表格文件", "Choose the sheet to upload"},
		"dz.s.not_sheet":        {"请上传 Excel 文件（.xlsx）或 CSV 文件", "Upload an Excel file (.xlsx) or a CSV file"},
		"dz.s.too_large":        {"文件太大", "The file is too large"},
		"dz.s.rows_import":      {"同时把草稿附带的 %d 行数据导入为记录", "Also import the %d rows that came with the draft as records"},
		"dz.s.rows_importing":   {"正在把 %d 行数据导入为记录，稍后可在列表中看到。", "Importing %d rows as records; they will appear in the list shortly."},
		"dz.s.rows_hint":        {"这些行只能在应用首次发布时导入。", "The rows can be imported only with the app's first version."},
		"dz.v.title":            {"预览", "Preview"},
		"dz.v.link":             {"以他人身份预览", "Preview as someone"},
		"dz.v.intro":            {"选择表单和身份，看看这个人会看到什么：脱敏的值已脱敏，隐藏的字段不会出现，只读的字段不能修改。", "Choose a form and a person to see what they would see: masked values masked, hidden fields absent, read-only fields read-only."},
		"dz.v.form":             {"表单", "Form"},
		"dz.v.as_role":          {"按角色和单位", "As a role in a unit"},
		"dz.v.role":             {"角色", "Role"},
		"dz.v.unit":             {"单位", "Unit"},
		"dz.v.as_user":          {"或按真实用户", "Or as a real user"},
		"dz.v.user":             {"用户邮箱", "User's email"},
		"dz.v.show":             {"预览", "Preview"},
		"dz.v.as":               {"以「%s」的身份查看", "Seen as %s"},
		"dz.v.ops":              {"可以：%s", "May: %s"},
		"dz.v.no_ops":           {"这个人不能使用这张表单。", "This person may not use this form."},
		"dz.v.new":              {"填写表单", "Filling in the form"},
		"dz.v.new_hint":         {"可以在表单中输入示例值，规则会即时生效；点击下方按钮，把输入的值作为一条记录查看。", "Type sample values into the form: the rules apply as you type. The button below shows them as a record."},
		"dz.v.try":              {"作为记录查看", "Show as a record"},
		"dz.v.list":             {"记录列表", "Records list"},
		"dz.v.no_samples":       {"草稿里没有示例数据；可以在上面的表单中输入值来预览一条记录。", "The draft has no sample records; type values into the form above to preview one."},
		"dz.v.record":           {"一条记录", "One record"},
		"dz.v.record_n":         {"示例记录 %d", "Sample record %d"},
		"dz.v.record_typed":     {"你输入的值", "The values you typed"},
		"dz.v.open":             {"查看", "Open"},
		"dz.v.hidden_some":      {"有些字段对这个人隐藏，不会出现。", "Some fields are hidden from this person and do not appear."},
		"dz.v.pick":             {"请选择表单，以及角色和单位或一位用户。", "Choose a form, and a role and unit or a user."},
		"dz.s.r.settings":       {"名称、两步验证与访问限制", "Name, two-step verification and access limits"},
		"dz.s.r.name_zh":        {"中文名称", "Name in Chinese"},
		"dz.s.r.name_en":        {"英文名称", "Name in English"},
		"dz.s.r.key":            {"角色标识：", "Role key: "},
		"dz.s.r.key_fixed":      {"（不能修改）", " (fixed)"},
		"dz.s.r.mfa":            {"拥有此角色的人须开启两步验证", "People with this role must use two-step verification"},
		"dz.s.r.hours":          {"允许使用的时间段（如 09:00-21:00，不填则不限）", "Hours it may be used (e.g. 09:00-21:00; empty for any time)"},
		"dz.s.r.weekdays":       {"允许使用的日子", "Days it may be used"},
		"dz.s.r.wd.1":           {"周一", "Mon"},
		"dz.s.r.wd.2":           {"周二", "Tue"},
		"dz.s.r.wd.3":           {"周三", "Wed"},
		"dz.s.r.wd.4":           {"周四", "Thu"},
		"dz.s.r.wd.5":           {"周五", "Fri"},
		"dz.s.r.wd.6":           {"周六", "Sat"},
		"dz.s.r.wd.7":           {"周日", "Sun"},
		"dz.s.r.ip":             {"只允许这些网络地址使用（每行一个，如 10.0.0.0/8，不填则不限）", "Only from these network addresses (one a line, e.g. 10.0.0.0/8; empty for anywhere)"},
		"dz.s.r.holders":        {"%d 人拥有此角色。", "%d people hold this role."},
		"dz.s.r.holders_link":   {"在用户管理中查看", "See them in user management"},
		"dz.s.r.c.when":         {"只能看到满足以下", "Only records that meet"},
		"dz.s.r.c.when_end":     {"条件的记录：", "of these conditions:"},
		"dz.s.r.c.join":         {"条件之间的关系", "How the conditions combine"},
		"dz.s.r.c.all":          {"全部", "all"},
		"dz.s.r.c.any":          {"任一", "any"},
		"dz.s.r.c.field":        {"选择字段", "Choose a field"},
		"dz.s.r.c.op":           {"条件", "Condition"},
		"dz.s.r.c.value":        {"值", "Value"},
		"dz.s.r.c.add":          {"添加条件", "Add a condition"},
		"dz.s.r.c.remove":       {"删除", "Remove"},
		"dz.s.r.c.fixed":        {"这个条件是用高级方式写成的，这里保持原样不变。", "This condition was written in advanced mode; it is kept as it is."},
		"dz.s.r.c.me":           {"当前用户本人", "The person looking"},
		"dz.s.r.c.my_unit":      {"当前用户所在部门", "The person's unit"},
		"dz.s.r.c.list_hint":    {"多个值用逗号分隔", "separate values with commas"},
		"dz.s.r.c.op.eq":        {"等于", "is"},
		"dz.s.r.c.op.ne":        {"不等于", "is not"},
		"dz.s.r.c.op.gt":        {"大于", "is more than"},
		"dz.s.r.c.op.ge":        {"大于等于", "is at least"},
		"dz.s.r.c.op.lt":        {"小于", "is less than"},
		"dz.s.r.c.op.le":        {"小于等于", "is at most"},
		"dz.s.r.c.op.in":        {"是其中之一", "is one of"},
		"dz.s.r.c.op.not_in":    {"不是其中任何一个", "is none of"},
		"dz.s.r.c.op.contains":  {"包含文字", "contains"},
		"dz.s.r.c.op.empty":     {"为空", "is empty"},
		"dz.s.r.c.op.not_empty": {"不为空", "is not empty"},
		"dz.d.title":            {"应用设计者", "App designers"},
		"dz.d.link":             {"指定设计者", "Name designers"},
		"dz.d.intro":            {"被指定的用户可以设计这个应用（系统管理员总是可以）。只有系统管理员可以修改这份名单。", "The users named here may design this app (administrators always may). Only administrators change this list."},
		"dz.d.none":             {"还没有指定设计者。", "No designers named yet."},
		"dz.d.add":              {"按邮箱添加（每行一个）", "Add by email (one a line)"},
		"dz.d.save":             {"保存名单", "Save the list"},
		"dz.d.saved":            {"已保存设计者名单。", "The designers are saved."},
		"dz.d.pick":             {"从用户中选择", "Pick from the users"},
		"dz.d.current":          {"当前设计者", "Designers now"},
	})
}

// startChoice is the card a refused start belongs to ("blank" when the
// page does not say).
func startChoice(v DesignerHomePage) string {
	if v.Start.Choice == "" {
		return "blank"
	}
	return v.Start.Choice
}

// startVal is val when choice is the card that was refused, so that each
// card keeps only its own input.
func startVal(v DesignerHomePage, choice, val string) string {
	if startChoice(v) != choice {
		return ""
	}
	return val
}

// joinWords names operations (create, read, …) in words, joined.
func joinWords(lang string, ops []string) string {
	sep := "、"
	if lang == "en" {
		sep = ", "
	}
	out := ""
	for i, op := range ops {
		if i > 0 {
			out += sep
		}
		out += Msg(lang, "dz.r.op."+op)
	}
	return out
}

// designerSubURL is the address of another page of the same app as
// rolesURL (/designer/apps/{app}/roles): its preview or designers page.
func designerSubURL(rolesURL, page string) string {
	return strings.TrimSuffix(rolesURL, "roles") + page
}
