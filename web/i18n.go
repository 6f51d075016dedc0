package web

import (
	"strconv"
	"strings"
)

// Languages.
const (
	LangZh = "zh"
	LangEn = "en"
)

// PickLang returns the language to use: a valid cookie choice wins, else
// zh when Accept-Language prefers it to en (by quality), else en.
func PickLang(cookie, acceptLanguage string) string {
	if cookie == LangZh || cookie == LangEn {
		return cookie
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == LangZh || base == LangEn) && q > bestQ {
			best, bestQ = base, q
		}
	}
	if best == "" {
		return LangEn
	}
	return best
}

// messages is the UI's catalogue: key → {zh, en}.
var messages = map[string][2]string{
	"app.name":        {"Formwork", "Formwork"},
	"login.title":     {"登录", "Log in"},
	"login.email":     {"邮箱", "Email"},
	"login.password":  {"密码", "Password"},
	"login.submit":    {"登录", "Log in"},
	"logout":          {"退出登录", "Log out"},
	"home.title":      {"我的应用", "My apps"},
	"home.none":       {"暂无可用的应用。请联系管理员导入应用或分配角色。", "No apps yet. Ask an administrator to import an app or give you a role."},
	"home.new":        {"新建", "New"},
	"home.list":       {"记录", "Records"},
	"admin":           {"管理", "Admin"},
	"nav.tasks":       {"我的待办", "My tasks"},
	"nav.tasks_open":  {"待办数", "open tasks"},
	"nav.templates":   {"模板中心", "Templates"},
	"nav.access":      {"权限申请", "Access requests"},
	"nav.mfa":         {"两步验证", "Two-step verification"},
	"lang.switch":     {"English", "中文"},
	"form.submit":     {"提交", "Submit"},
	"form.required":   {"必填", "required"},
	"form.computed":   {"自动计算", "computed"},
	"form.serial":     {"保存时自动编号", "numbered when saved"},
	"form.add_row":    {"每行填写一项，空行会被忽略", "One item per row; empty rows are ignored"},
	"form.errors":     {"请修正下面标出的问题。", "Please correct the problems marked below."},
	"form.saved":      {"已保存", "Saved"},
	"form.choose":     {"请选择", "Choose"},
	"form.yes":        {"是", "Yes"},
	"form.attachment": {"附件编号或链接", "attachment id or link"},
	"list.search":     {"搜索", "Search"},
	"list.import":     {"导入", "Import"},
	"list.export":     {"导出", "Export"},
	"list.filter":     {"筛选", "Filter"},
	"list.all":        {"全部", "All"},
	"list.next":       {"下一页", "Next page"},
	"list.first":      {"第一页", "First page"},
	"list.empty":      {"没有记录", "No records"},
	"list.updated":    {"更新时间", "Updated"},
	"list.open":       {"打开", "Open"},
	"list.sort_by":    {"排序", "Sort by"},
	"record.values":   {"内容", "Values"},
	"record.history":  {"修订历史", "History"},
	"record.timeline": {"流程", "Timeline"},
	"record.no_flow":  {"此记录没有流程。", "No workflow on this record."},
	"record.restore":  {"恢复到此版本", "Restore this version"},
	"record.version":  {"版本", "Version"},
	"record.status":   {"状态", "Status"},
	"record.owner":    {"所有者", "Owner"},
	"record.unit":     {"单位", "Unit"},
	"record.created":  {"创建时间", "Created"},
	"record.updated":  {"更新时间", "Updated"},
	"record.changes":  {"变更", "Changes"},
	"record.by":       {"操作人", "By"},
	"record.field":    {"字段", "Field"},
	"record.before":   {"之前", "Before"},
	"record.after":    {"之后", "After"},
	"record.list":     {"返回列表", "Back to the list"},
	"op.create":       {"创建", "created"},
	"op.update":       {"修改", "updated"},
	"op.delete":       {"删除", "deleted"},
	"op.restore":      {"恢复", "restored"},
	"error.back":      {"返回首页", "Back to the start page"},
	"error.title":     {"出错了", "Something went wrong"},
	"skip":            {"跳到正文", "Skip to content"},
	"error.number":    {"请输入数字", "Enter a number"},
	"error.integer":   {"请输入整数", "Enter a whole number"},
}

// addMessages adds entries to the catalogue; each area of the UI keeps
// its own in its own file (func init() { addMessages(...) }). A key
// defined twice is a programming error.
func addMessages(m map[string][2]string) {
	for k, v := range m {
		if _, dup := messages[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		messages[k] = v
	}
}

// Msg returns the catalogue text for key in lang (the key itself when it
// is unknown, so a missing entry shows up rather than vanishing).
func Msg(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == LangEn {
		return m[1]
	}
	return m[0]
}
