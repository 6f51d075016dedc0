package engine

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Staff read what is wrong with a value in plain words: never a regular
// expression, a keyword or a JSON type name (those stay in the error's
// code for the API). The words come, first to last, from the field's
// x-messages entry for the keyword, its x-message, what the field is
// known to hold (a mobile number, an ID number, a VIN…), and the
// keyword's own plain sentence. Definitions (bundles) keep the technical
// messages of schemaErrors: their readers are designers who need them.

// meaning is what a field is known to hold, and the one sentence that
// says what a valid value of it looks like.
type meaning struct {
	name  string
	words Text
}

var meanings = map[string]meaning{
	"phone":       {"phone", T("手机号格式不正确，应为11位数字", "Not a valid mobile number: 11 digits starting with 1")},
	"email":       {"email", T("邮箱格式不正确，例如 name@example.com", "Not a valid email address, e.g. name@example.com")},
	"id_number":   {"id_number", T("身份证号格式不正确，应为18位（最后一位可为X）", "Not a valid ID number: 18 characters, the last may be X")},
	"vin":         {"vin", T("车架号格式不正确，应为17位字母或数字（不含 I、O、Q）", "Not a valid VIN: 17 letters or digits (no I, O or Q)")},
	"plate":       {"plate", T("车牌号格式不正确，例如 京A12345", "Not a valid licence plate, e.g. 京A12345")},
	"bank_card":   {"bank_card", T("银行卡号格式不正确，应为数字", "Not a valid bank card number: digits only")},
	"credit_code": {"credit_code", T("统一社会信用代码格式不正确，应为18位", "Not a valid unified social credit code: 18 characters")},
}

// knownPatterns recognise a text field by its pattern: the designer's
// validation presets and the templates' patterns.
var knownPatterns = map[string]string{
	"^1[3-9][0-9]{9}$":      "phone",
	`^1[3-9]\d{9}$`:         "phone",
	"^[A-HJ-NPR-Z0-9]{17}$": "vin",
	"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$":                                 "credit_code",
	"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$": "id_number",
	"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$":  "id_number",
	"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$":                                       "email",
	"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$":    "plate",
	"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]$":      "plate",
}

// meaningOf says what fd holds when its widget, data class or pattern
// tells; ok is false for a field of no known meaning.
func meaningOf(fd *Field) (meaning, bool) {
	if fd == nil {
		return meaning{}, false
	}
	for _, k := range []string{fd.Widget, fd.Sensitive, knownPatterns[fd.Pattern]} {
		if m, ok := meanings[k]; ok {
			return m, true
		}
	}
	if strings.HasPrefix(fd.Pattern, "^[京津沪") {
		return meanings["plate"], true
	}
	return meaning{}, false
}

// meaningKeywords are the keywords whose failure the meaning's sentence
// explains (a VIN's length as well as its letters).
var meaningKeywords = map[string]bool{"pattern": true, "format": true, "minLength": true, "maxLength": true}

// fieldWords returns what staff read about a value of fd that breaks
// keyword code, where plain is the keyword's own plain sentence.
func fieldWords(fd *Field, code string, plain Text) Text {
	if fd == nil {
		return plain
	}
	if m, ok := fd.Messages[code]; ok && !m.IsZero() {
		return m
	}
	if code == "required" {
		return plain
	}
	if fd.Message != nil && !fd.Message.IsZero() {
		return *fd.Message
	}
	if m, ok := meaningOf(fd); ok && meaningKeywords[code] {
		return m.words
	}
	return plain
}

// plainWords is the plain sentence of a failed keyword; fd (may be nil)
// names options and rows.
func plainWords(k jsonschema.ErrorKind, fd *Field) Text {
	switch k := k.(type) {
	case *kind.Type:
		return typeWords(k.Want)
	case *kind.Enum:
		return enumWords(fd)
	case *kind.Const:
		return T("值不符合要求", "Not the value required here")
	case *kind.Format:
		return formatWords(k.Want)
	case *kind.MinLength:
		return Tf("太短：至少填写 %d 个字（现在 %d 个）", "Too short: at least %d characters (now %d)", k.Want, k.Got)
	case *kind.MaxLength:
		return Tf("太长：最多 %d 个字（现在 %d 个）", "Too long: at most %d characters (now %d)", k.Want, k.Got)
	case *kind.Pattern:
		return T("格式不正确", "Not in the expected form")
	case *kind.Minimum:
		return Tf("不能小于 %s", "Must be at least %s", number(k.Want))
	case *kind.Maximum:
		return Tf("不能大于 %s", "Must be at most %s", number(k.Want))
	case *kind.ExclusiveMinimum:
		return Tf("必须大于 %s", "Must be more than %s", number(k.Want))
	case *kind.ExclusiveMaximum:
		return Tf("必须小于 %s", "Must be less than %s", number(k.Want))
	case *kind.MultipleOf:
		return Tf("必须是 %s 的整数倍", "Must be a multiple of %s", number(k.Want))
	case *kind.MinItems:
		zh, en := entries(fd)
		return T(fmt.Sprintf("至少需要 %d %s（现在 %d %s）", k.Want, zh, k.Got, zh), fmt.Sprintf("Needs at least %d %s (now %d)", k.Want, en, k.Got))
	case *kind.MaxItems:
		zh, en := entries(fd)
		return T(fmt.Sprintf("最多 %d %s（现在 %d %s）", k.Want, zh, k.Got, zh), fmt.Sprintf("At most %d %s (now %d)", k.Want, en, k.Got))
	case *kind.UniqueItems:
		zh, en := entries(fd)
		return T(fmt.Sprintf("第 %d %s和第 %d %s重复了", k.Duplicates[0]+1, zh, k.Duplicates[1]+1, zh),
			fmt.Sprintf("%s %d and %d are the same", strings.ToUpper(en[:1])+en[1:], k.Duplicates[0]+1, k.Duplicates[1]+1))
	case *kind.AdditionalItems:
		return T("项数太多", "Too many entries")
	case *kind.Contains, *kind.MinContains:
		return T("至少要有一项符合要求", "At least one entry must fit")
	case *kind.MaxContains:
		return T("符合要求的项太多", "Too many entries of this kind")
	case *kind.MinProperties:
		return Tf("至少需要填写 %d 项", "Fill in at least %d items", k.Want)
	case *kind.MaxProperties:
		return Tf("最多填写 %d 项", "Fill in at most %d items", k.Want)
	case *kind.Required:
		return T("必填", "Required")
	case *kind.DependentRequired:
		return T("填写了这一项时，还有相关的项必须填写", "Filling this in needs related items filled in too")
	case *kind.Dependency:
		return T("填写了这一项时，还有相关的项必须填写", "Filling this in needs related items filled in too")
	case *kind.AdditionalProperties:
		return T("表单中没有这一项", "Not a field of this form")
	case *kind.PropertyNames:
		return T("名称不符合要求", "Not an accepted name")
	case *kind.ContentEncoding, *kind.ContentMediaType, *kind.ContentSchema:
		return T("内容格式不正确", "The content is not in the expected form")
	case *kind.FalseSchema:
		return T("这里不能填写", "Nothing may be filled in here")
	case *kind.Not, *kind.AllOf, *kind.AnyOf, *kind.OneOf:
		return T("不符合要求", "Does not meet the requirements")
	}
	return T("值无效", "Not a valid value")
}

// typeWords says what kind of value a field takes.
func typeWords(want []string) Text {
	var zh, en []string
	for _, w := range want {
		t := typeNames[w]
		if t.IsZero() {
			t = T("其他值", "another value")
		}
		zh, en = append(zh, t.Zh), append(en, t.En)
	}
	return T("应填写"+strings.Join(zh, "或"), "Must be "+strings.Join(en, " or "))
}

var typeNames = map[string]Text{
	"string":  T("文字", "text"),
	"number":  T("数字", "a number"),
	"integer": T("整数", "a whole number"),
	"boolean": T("是或否", "yes or no"),
	"array":   T("一组值", "a list of values"),
	"object":  T("一组字段", "a group of fields"),
	"null":    T("空值", "empty"),
}

// enumWords asks for one of the field's options, by their labels.
func enumWords(fd *Field) Text {
	if fd == nil || len(fd.Options) == 0 || len(fd.Options) > 12 {
		return T("请从给出的选项中选择", "Choose one of the options given")
	}
	var zh, en []string
	for _, o := range fd.Options {
		zh, en = append(zh, o.Label.In("zh")), append(en, o.Label.In("en"))
	}
	return T("请从以下选项中选择："+strings.Join(zh, "、"), "Choose one of: "+strings.Join(en, ", "))
}

// formatWords says what a value of a format looks like.
func formatWords(format string) Text {
	switch format {
	case "date":
		return T("请填写有效的日期，例如 2026-01-31", "Enter a valid date, e.g. 2026-01-31")
	case "date-time":
		return T("请填写有效的日期和时间，例如 2026-01-31 09:30", "Enter a valid date and time, e.g. 2026-01-31 09:30")
	case "time":
		return T("请填写有效的时间，例如 09:30", "Enter a valid time, e.g. 09:30")
	case "email":
		return meanings["email"].words
	case "uri", "uri-reference", "iri":
		return T("请填写有效的网址，例如 https://example.com", "Enter a valid web address, e.g. https://example.com")
	case "uuid":
		return T("编号格式不正确", "Not a valid identifier")
	case "ipv4", "ipv6":
		return T("请填写有效的IP地址", "Enter a valid IP address")
	case "hostname":
		return T("请填写有效的域名", "Enter a valid host name")
	}
	return T("格式不正确", "Not in the expected form")
}

// entries names what a list field holds: rows of a subform, files of an
// attachment, else entries.
func entries(fd *Field) (zh, en string) {
	switch {
	case fd != nil && fd.IsSubform():
		return "行", "rows"
	case fd != nil && (fd.Widget == WidgetAttachment || fd.Widget == WidgetImage):
		return "个文件", "files"
	}
	return "项", "entries"
}

// number writes a bound as people write it: 2, 0.5, 10000.
func number(r *big.Rat) string {
	if r == nil {
		return ""
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// valueErrors turns a jsonschema error about top-level field fd's value
// into field errors in plain words.
func valueErrors(err error, fd *Field) []FieldError {
	return schemaErrorsWith(err, JSONPointer(fd.Key), func(k jsonschema.ErrorKind, ptr string) Text {
		f := fieldAtPointer(fd, ptr)
		return fieldWords(f, keywordOf(k), plainWords(k, f))
	})
}

// dataErrors turns a jsonschema error about a whole record into field
// errors in plain words (the form could not be split into fields).
func dataErrors(err error, f *Form) []FieldError {
	return schemaErrorsWith(err, "", func(k jsonschema.ErrorKind, ptr string) Text {
		var fd *Field
		if tok := pointerTokens(ptr); len(tok) > 0 {
			fd = fieldAtPointer(f.Field(tok[0]), ptr)
		}
		return fieldWords(fd, keywordOf(k), plainWords(k, fd))
	})
}

// keywordOf is the keyword a failure is about: the error's code.
func keywordOf(k jsonschema.ErrorKind) string {
	if kp := k.KeywordPath(); len(kp) > 0 {
		return kp[len(kp)-1]
	}
	return "invalid"
}

// fieldAtPointer finds the field a pointer into a record ends at,
// starting at top-level field top (the first token) and stepping over
// row numbers; a pointer into a plain value stops at its field.
func fieldAtPointer(top *Field, ptr string) *Field {
	tok := pointerTokens(ptr)
	if top == nil || len(tok) == 0 || tok[0] != top.Key {
		return top
	}
	f := top
	for _, t := range tok[1:] {
		if f.Type == "array" {
			if _, err := strconv.Atoi(t); err == nil {
				continue
			}
		}
		sub := f.Sub(t)
		if sub == nil {
			return f
		}
		f = sub
	}
	return f
}

// pointerTokens splits an RFC 6901 pointer into its unescaped tokens.
func pointerTokens(ptr string) []string {
	if ptr == "" || ptr[0] != '/' {
		return nil
	}
	parts := strings.Split(ptr[1:], "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts
}
