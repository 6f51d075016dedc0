package web

import (
	"encoding/json"
	"fmt"
)

// DesignerHomePage lists the apps the user may design and starts a new one.
type DesignerHomePage struct {
	Page
	Apps  []DesignerAppItem
	Error string // why the new app was refused
	// the new-app form as it was sent, kept when it is refused
	Key, NameZh, NameEn string
	Start               DesignerStart
	Templates           []DesignerTemplateItem
}

// DesignerAppItem is one app on the designer's home page.
type DesignerAppItem struct {
	Key   string
	Name  string
	URL   string
	Draft bool // has changes not published yet
}

// DesignerAppPage is one app in the designer: its forms and the way to
// publish.
type DesignerAppPage struct {
	Page
	App        string
	Name       string
	Forms      []DesignerFormItem
	PublishURL string
	RolesURL   string
	Base       int  // the published version the draft starts from; 0 = never published
	Draft      bool // has changes not published yet
	Problems   int
	Versions   []DesignerVersionItem // newest first
}

// DesignerVersionItem is one published version in an app's history.
type DesignerVersionItem struct {
	Version    int
	AppVersion string
	By         string
	At         string
	Summary    string
	RestoreURL string // POST: puts this version into the draft
}

// DesignerFormItem is one form of an app in the designer.
type DesignerFormItem struct {
	Key    string
	Title  string
	Fields int
	URL    string
}

// DesignerFormPage is the form designer. The script loads the draft from
// DraftURL; the page gives it the palette, the texts and the keys of the
// published form (which may no longer change).
type DesignerFormPage struct {
	Page
	App        string
	AppName    string
	AppURL     string
	Form       string
	FormTitle  string
	DraftURL   string
	PublishURL string
	Published  []string // the published form's field keys
	Palette    []PaletteGroup
}

// PaletteGroup is one group of the palette (basic, advanced, system).
type PaletteGroup struct {
	Name    string
	Widgets []PaletteItem
}

// PaletteItem is one widget of the palette.
type PaletteItem struct {
	Widget string
	Label  string
}

// PaletteGroups are the widgets the engine knows, grouped as the palette
// shows them.
var PaletteGroups = []struct {
	Key     string
	Widgets []string
}{
	{"basic", []string{"text", "textarea", "number", "money", "date", "datetime", "select", "radio", "checkbox"}},
	{"advanced", []string{"phone", "email", "id_number", "address", "attachment", "image", "relation", "subform", "formula"}},
	{"system", []string{"member", "unit", "serial"}},
}

// Palette returns the palette in lang.
func Palette(lang string) []PaletteGroup {
	var out []PaletteGroup
	for _, g := range PaletteGroups {
		pg := PaletteGroup{Name: Msg(lang, "dz.group."+g.Key)}
		for _, w := range g.Widgets {
			pg.Widgets = append(pg.Widgets, PaletteItem{Widget: w, Label: Msg(lang, "dz.w."+w)})
		}
		out = append(out, pg)
	}
	return out
}

// designerScriptMsgs are the catalogue keys the designer script uses,
// without their "dz.js." prefix.
var designerScriptMsgs = []string{"saved", "saving", "conflict", "refused", "no_form", "required", "duplicate", "delete",
	"props", "select_hint", "label_zh", "label_en", "key", "key_help", "key_fixed", "key_bad", "key_taken", "placeholder",
	"help", "options", "option_zh", "option_en", "option_add", "option_remove", "colon"}

// designerMsgs is the JSON the designer script reads its texts from: the
// messages in lang and every widget's name in both languages (a new
// field is labelled with it).
func designerMsgs(lang string) map[string]any {
	m := map[string]any{}
	for _, k := range designerScriptMsgs {
		m[k] = Msg(lang, "dz.js."+k)
	}
	m["copy_suffix"] = map[string]string{"zh": Msg(LangZh, "dz.js.copy_suffix"), "en": Msg(LangEn, "dz.js.copy_suffix")}
	ws := map[string]map[string]string{}
	for _, g := range PaletteGroups {
		for _, w := range g.Widgets {
			ws[w] = map[string]string{"zh": Msg(LangZh, "dz.w."+w), "en": Msg(LangEn, "dz.w."+w)}
		}
	}
	m["widgets"] = ws
	propsMsgs(m, lang)
	return m
}

func jsonList(ss []string) string {
	if ss == nil {
		ss = []string{}
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

// DesignerRolesPage is the roles and permissions of a draft; the script
// loads the draft from DraftURL.
type DesignerRolesPage struct {
	Page
	App      string
	AppName  string
	AppURL   string
	DraftURL string
	// Holders is how many users hold each role ({"key": n} as JSON), for
	// an administrator; "" for anyone else. UsersURL is the admin's users page.
	Holders  string
	UsersURL string
}

// rolesScriptMsgs are the catalogue keys the roles script uses, without
// their "dz.r." prefix.
var rolesScriptMsgs = []string{"saved", "saving", "conflict", "refused", "no_roles", "operations", "scope", "fields",
	"field", "whole_column", "delete_role", "confirm_delete", "custom", "key_bad", "key_taken", "name_missing",
	"op.create", "op.read", "op.update", "op.delete", "op.export", "op.import", "op.print",
	"scope.own", "scope.unit", "scope.unit_and_below", "scope.all",
	"perm.hidden", "perm.masked", "perm.read", "perm.edit", "perm.none", "cycle_hint"}

// rolesMsgs is the JSON the roles script reads its texts from.
func rolesMsgs(lang string) map[string]string {
	m := map[string]string{}
	for _, k := range rolesScriptMsgs {
		m[k] = Msg(lang, "dz.r."+k)
	}
	for _, k := range rolesMoreMsgs {
		m["s.r."+k] = Msg(lang, "dz.s.r."+k)
	}
	return m
}

// DesignerPublishPage shows what publishing the draft changes and does it.
type DesignerPublishPage struct {
	Page
	App         string
	AppName     string
	AppURL      string
	Action      string
	Changes     []string // in plain words
	Impact      []string // data that would be dropped, in plain words
	Problems    []string // why the draft cannot be published yet
	NeedConfirm bool
	Stale       string // the app was published since the draft began, in plain words
	Error       string
	// SampleRows is how many sample records (a sheet's rows) a first
	// publish may import as records.
	SampleRows int
	// after publishing
	Version   int
	Forms     []DesignerFormItem // links to fill the new version's forms
	Importing int                // sample records being imported
}

func init() {
	addMessages(map[string][2]string{
		"nav.designer":              {"应用设计", "Designer"},
		"dz.title":                  {"应用设计", "App designer"},
		"dz.intro":                  {"在这里搭建和修改应用：拖拽字段、设置属性，确认无误后发布。", "Build and change apps here: drag fields, set their properties, then publish."},
		"dz.apps":                   {"可设计的应用", "Apps you may design"},
		"dz.no_apps":                {"还没有你可以设计的应用。系统管理员可以设计全部应用，也可以指定你为某个应用的设计者。", "There is no app you may design yet. Administrators design every app, and may make you a designer of one."},
		"dz.draft":                  {"有未发布的修改", "Unpublished changes"},
		"dz.open":                   {"打开", "Open"},
		"dz.new":                    {"新建空白应用", "New blank app"},
		"dz.new.key":                {"应用标识（小写字母、数字和下划线）", "App key (lowercase letters, digits and _)"},
		"dz.new.name_zh":            {"中文名称", "Name in Chinese"},
		"dz.new.name_en":            {"英文名称", "Name in English"},
		"dz.new.submit":             {"创建", "Create"},
		"dz.new.key_bad":            {"应用标识只能包含小写字母、数字和下划线，并以字母开头", "An app key has lowercase letters, digits and _, starting with a letter"},
		"dz.new.name_missing":       {"请填写应用名称", "Enter the app's name"},
		"dz.new.exists":             {"已有同名标识的应用", "An app with this key exists already"},
		"dz.back":                   {"返回应用设计", "Back to the designer"},
		"dz.forms":                  {"表单", "Forms"},
		"dz.fields_n":               {"%d 个字段", "%d fields"},
		"dz.design_form":            {"设计表单", "Design the form"},
		"dz.publish":                {"发布", "Publish"},
		"dz.publish_page":           {"查看修改并发布", "Review and publish"},
		"dz.never_published":        {"尚未发布", "Not published yet"},
		"dz.base":                   {"基于已发布的第 %d 版", "Based on published version %d"},
		"dz.problems_n":             {"%d 个问题需要解决后才能发布", "%d problems to solve before publishing"},
		"dz.palette":                {"控件", "Widgets"},
		"dz.group.basic":            {"基础控件", "Basic"},
		"dz.group.advanced":         {"高级控件", "Advanced"},
		"dz.group.system":           {"系统控件", "System"},
		"dz.canvas":                 {"表单字段", "Form fields"},
		"dz.canvas.empty":           {"把左侧的控件拖到这里，或点击控件添加。", "Drag a widget here, or click one to add it."},
		"dz.canvas.keys":            {"键盘：选中字段后，Alt+↑/↓ 移动，Delete 删除，Ctrl+Z 撤销，Ctrl+Y 重做。", "Keyboard: with a field selected, Alt+↑/↓ moves it, Delete removes it, Ctrl+Z undoes, Ctrl+Y redoes."},
		"dz.undo":                   {"撤销", "Undo"},
		"dz.redo":                   {"重做", "Redo"},
		"dz.problems":               {"问题", "Problems"},
		"dz.no_problems":            {"没有问题，可以发布。", "No problems: ready to publish."},
		"dz.js.saved":               {"已保存", "Saved"},
		"dz.js.saving":              {"正在保存…", "Saving…"},
		"dz.js.conflict":            {"其他人刚刚修改了这个应用，已为你载入最新内容；你最后的修改没有保存，请重新操作。", "Someone else just changed this app. Their version is loaded; your last change was not saved, please make it again."},
		"dz.js.refused":             {"修改未能保存，已重新载入草稿。", "The change could not be saved; the draft was loaded again."},
		"dz.js.no_form":             {"草稿中没有这个表单。", "The draft has no such form."},
		"dz.js.required":            {"必填", "Required"},
		"dz.js.duplicate":           {"复制", "Duplicate"},
		"dz.js.delete":              {"删除", "Delete"},
		"dz.js.props":               {"字段属性", "Field properties"},
		"dz.js.select_hint":         {"选择画布上的一个字段来设置它的属性。", "Select a field on the canvas to set its properties."},
		"dz.js.label_zh":            {"中文名称", "Label in Chinese"},
		"dz.js.label_en":            {"英文名称", "Label in English"},
		"dz.js.key":                 {"字段标识", "Field key"},
		"dz.js.key_help":            {"由英文名称生成，发布后不能再改。", "Made from the English label; fixed once published."},
		"dz.js.key_fixed":           {"字段已发布，标识不能再改。", "The field is published: its key is fixed."},
		"dz.js.key_bad":             {"只能包含小写字母、数字和下划线，并以字母开头。", "Use lowercase letters, digits and _, starting with a letter."},
		"dz.js.key_taken":           {"表单中已有这个标识。", "The form has this key already."},
		"dz.js.placeholder":         {"输入提示", "Placeholder"},
		"dz.js.help":                {"帮助说明", "Help text"},
		"dz.js.options":             {"选项", "Options"},
		"dz.js.option_zh":           {"选项中文名", "Option in Chinese"},
		"dz.js.option_en":           {"选项英文名", "Option in English"},
		"dz.js.option_add":          {"添加选项", "Add an option"},
		"dz.js.option_remove":       {"删除选项", "Remove option"},
		"dz.js.colon":               {"：", ": "},
		"dz.js.copy_suffix":         {"（副本）", " (copy)"},
		"dz.pub.title":              {"发布 %s", "Publish %s"},
		"dz.pub.changes":            {"本次修改", "What changes"},
		"dz.pub.no_changes":         {"与已发布的版本相比没有修改。", "Nothing changed since the published version."},
		"dz.pub.impact":             {"会丢弃的数据", "Data that would be dropped"},
		"dz.pub.impact_item":        {"删除「%s」中的字段「%s」会丢弃 %d 条记录中的值", "Removing field “%[2]s” of “%[1]s” drops its values in %[3]d records"},
		"dz.pub.impact_form":        {"删除表单「%s」会丢弃 %d 条记录", "Removing form “%s” drops %d records"},
		"dz.pub.no_impact":          {"不会丢弃任何已有数据。", "No existing data would be dropped."},
		"dz.pub.confirm":            {"我知道这些数据会被丢弃，确认发布", "I understand this data will be dropped; publish anyway"},
		"dz.pub.confirm_stale":      {"我已看过上面的修改，确认用草稿替换已发布的版本", "I have reviewed the changes above; replace the published version with the draft"},
		"dz.pub.need_confirm":       {"请先勾选确认", "Please confirm first"},
		"dz.pub.problems":           {"发布前需要解决的问题", "Problems to solve before publishing"},
		"dz.pub.done":               {"已发布第 %d 版。", "Published as version %d."},
		"dz.pub.fill":               {"填写「%s」", "Fill in “%s”"},
		"dz.pub.records_note":       {"已有记录保留各自的版本。", "Existing records keep their version."},
		"dz.roles":                  {"角色与权限", "Roles and permissions"},
		"dz.roles_page":             {"设置角色与权限", "Set roles and permissions"},
		"dz.versions":               {"版本历史", "Version history"},
		"dz.versions_none":          {"还没有发布过。", "Not published yet."},
		"dz.version_n":              {"第 %d 版", "Version %d"},
		"dz.version_by":             {"%s 于 %s 发布", "published by %s on %s"},
		"dz.restore":                {"恢复到草稿", "Restore into the draft"},
		"dz.restored":               {"已把第 %d 版恢复到草稿，发布前可以继续修改。", "Version %d is now the draft; change it further before publishing."},
		"dz.r.add":                  {"添加角色", "Add a role"},
		"dz.r.name_zh":              {"中文名称", "Name in Chinese"},
		"dz.r.name_en":              {"英文名称", "Name in English"},
		"dz.r.add_submit":           {"添加", "Add"},
		"dz.r.intro":                {"为每个角色设置它在每个表单上可以做的操作、可以看到的数据范围和每个字段的权限。点击字段格子可在 隐藏 → 脱敏 → 只读 → 可编辑 之间切换。", "For each role, set what it may do on each form, which records it sees and what it may do with each field. Click a field's cell to go through hidden → masked → read → edit."},
		"dz.r.saved":                {"已保存", "Saved"},
		"dz.r.saving":               {"正在保存…", "Saving…"},
		"dz.r.conflict":             {"其他人刚刚修改了这个应用，已为你载入最新内容；你最后的修改没有保存，请重新操作。", "Someone else just changed this app. Their version is loaded; your last change was not saved, please make it again."},
		"dz.r.refused":              {"修改未能保存，已重新载入草稿。", "The change could not be saved; the draft was loaded again."},
		"dz.r.no_roles":             {"还没有角色。", "There are no roles yet."},
		"dz.r.operations":           {"操作", "Operations"},
		"dz.r.scope":                {"数据范围", "Records"},
		"dz.r.fields":               {"字段权限", "Fields"},
		"dz.r.field":                {"字段", "Field"},
		"dz.r.whole_column":         {"全部字段设为", "Set every field to"},
		"dz.r.delete_role":          {"删除角色", "Delete the role"},
		"dz.r.confirm_delete":       {"删除角色「%s」？", "Delete the role “%s”?"},
		"dz.r.custom":               {"自定义条件", "custom condition"},
		"dz.r.key_bad":              {"英文名称需要以字母开头，才能生成角色标识。", "The English name must start with a letter to make the role's key."},
		"dz.r.key_taken":            {"已有同名角色。", "A role with this name exists already."},
		"dz.r.name_missing":         {"请填写角色名称。", "Enter the role's name."},
		"dz.r.op.create":            {"新建", "Create"},
		"dz.r.op.read":              {"查看", "Read"},
		"dz.r.op.update":            {"修改", "Update"},
		"dz.r.op.delete":            {"删除", "Delete"},
		"dz.r.op.export":            {"导出", "Export"},
		"dz.r.op.import":            {"导入", "Import"},
		"dz.r.op.print":             {"打印", "Print"},
		"dz.r.scope.own":            {"本人的记录", "Their own"},
		"dz.r.scope.unit":           {"本部门", "Their unit's"},
		"dz.r.scope.unit_and_below": {"本部门及下级部门", "Their unit's and below"},
		"dz.r.scope.all":            {"全部记录", "All"},
		"dz.r.perm.hidden":          {"隐藏", "Hidden"},
		"dz.r.perm.masked":          {"脱敏", "Masked"},
		"dz.r.perm.read":            {"只读", "Read"},
		"dz.r.perm.edit":            {"可编辑", "Edit"},
		"dz.r.perm.none":            {"—", "—"},
		"dz.r.cycle_hint":           {"点击切换", "Click to change"},
		"dz.w.text":                 {"单行文本", "Text"},
		"dz.w.textarea":             {"多行文本", "Paragraph"},
		"dz.w.number":               {"数字", "Number"},
		"dz.w.money":                {"金额", "Amount"},
		"dz.w.date":                 {"日期", "Date"},
		"dz.w.datetime":             {"日期时间", "Date and time"},
		"dz.w.select":               {"下拉选择", "Dropdown"},
		"dz.w.radio":                {"单选", "Single choice"},
		"dz.w.checkbox":             {"复选框", "Checkbox"},
		"dz.w.phone":                {"手机号", "Mobile phone"},
		"dz.w.email":                {"邮箱", "Email"},
		"dz.w.id_number":            {"身份证号", "ID number"},
		"dz.w.address":              {"地址", "Address"},
		"dz.w.attachment":           {"附件", "Attachments"},
		"dz.w.image":                {"图片", "Images"},
		"dz.w.relation":             {"关联记录", "Linked record"},
		"dz.w.subform":              {"子表单", "Table"},
		"dz.w.formula":              {"公式", "Formula"},
		"dz.w.member":               {"成员", "Member"},
		"dz.w.unit":                 {"部门", "Unit"},
		"dz.w.serial":               {"流水号", "Serial number"},
	})
}

// Msgf formats a message of the catalogue.
func Msgf(lang, key string, args ...any) string { return fmt.Sprintf(Msg(lang, key), args...) }
