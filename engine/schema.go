package engine

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schema/*.json
var metaFS embed.FS

// MetaSchemaNames lists the embedded meta-schemas (served by the API).
var MetaSchemaNames = []string{"bundle", "form", "role", "workflow", "common"}

// MetaSchema returns the embedded meta-schema document by name.
func MetaSchema(name string) ([]byte, error) {
	return metaFS.ReadFile("schema/" + name + ".json")
}

var (
	metaOnce    sync.Once
	metaSchemas map[string]*jsonschema.Schema
	metaErr     error
)

func metaSchema(name string) (*jsonschema.Schema, error) {
	metaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		for _, n := range MetaSchemaNames {
			b, err := MetaSchema(n)
			if err != nil {
				metaErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				metaErr = fmt.Errorf("meta-schema %s: %w", n, err)
				return
			}
			if err := c.AddResource("urn:formwork:schema:"+n, doc); err != nil {
				metaErr = fmt.Errorf("meta-schema %s: %w", n, err)
				return
			}
		}
		metaSchemas = map[string]*jsonschema.Schema{}
		for _, n := range MetaSchemaNames {
			s, err := c.Compile("urn:formwork:schema:" + n)
			if err != nil {
				metaErr = fmt.Errorf("meta-schema %s: %w", n, err)
				return
			}
			metaSchemas[n] = s
		}
	})
	if metaErr != nil {
		return nil, metaErr
	}
	return metaSchemas[name], nil
}

// JSONPointer builds an RFC 6901 pointer from path tokens.
func JSONPointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

var (
	printerEn = message.NewPrinter(language.English)
	printerZh = message.NewPrinter(language.Chinese)
)

func init() {
	// Chinese for jsonschema v6's messages (its localisation is x/text's
	// message catalog; keys are its English format strings).
	zh := map[string]string{
		"validation failed":                         "校验失败",
		"'not' failed":                              "不能满足 not 条件",
		"'allOf' failed":                            "不满足全部条件",
		"'anyOf' failed":                            "不满足任一条件",
		"'oneOf' failed, none matched":              "不符合任何一种允许的形式",
		"'oneOf' failed, subschemas %d, %d matched": "同时符合第 %d 和第 %d 种形式",
		"false schema":                              "不允许出现",
		"got %s, want %s":                           "类型错误：实际为 %s，应为 %s",
		"value must be %s":                          "值必须是 %s",
		"value must be one of %s":                   "值必须是以下之一：%s",
		"'enum' failed":                             "值不在允许的范围内",
		"'const' failed":                            "值不正确",
		"%s is not valid %s: %v":                    "%s 不是有效的 %s：%v",
		"minProperties: got %d, want %d":            "属性太少：有 %d 个，至少 %d 个",
		"maxProperties: got %d, want %d":            "属性太多：有 %d 个，最多 %d 个",
		"minItems: got %d, want %d":                 "条目太少：有 %d 条，至少 %d 条",
		"maxItems: got %d, want %d":                 "条目太多：有 %d 条，最多 %d 条",
		"missing property %s":                       "缺少属性 %s",
		"missing properties %s":                     "缺少属性 %s",
		"additional properties %s not allowed":      "不允许的属性 %s",
		"invalid propertyName %s":                   "属性名 %s 无效",
		"items at %d and %d are equal":              "第 %d 条和第 %d 条重复",
		"minLength: got %d, want %d":                "太短：%d 个字符，至少 %d 个",
		"maxLength: got %d, want %d":                "太长：%d 个字符，最多 %d 个",
		"%s does not match pattern %s":              "%s 不符合格式 %s",
		"minimum: got %v, want %v":                  "太小：%v，最小为 %v",
		"maximum: got %v, want %v":                  "太大：%v，最大为 %v",
		"exclusiveMinimum: got %v, want %v":         "太小：%v，必须大于 %v",
		"exclusiveMaximum: got %v, want %v":         "太大：%v，必须小于 %v",
		"multipleOf: got %v, want %v":               "%v 不是 %v 的整数倍",
	}
	for k, v := range zh {
		_ = message.SetString(language.Chinese, k, v)
	}
}

// schemaErrors turns a jsonschema validation error about a definition
// into field errors with pointers (prefix + instance location) and
// messages in both languages, as designers read them. A missing required
// property points at the property itself; an unknown key points at the
// key. Errors about record data are in plain words instead (valueErrors).
func schemaErrors(err error, prefix string) []FieldError {
	return schemaErrorsWith(err, prefix, definitionWords)
}

// schemaWords says what is wrong at pointer field (for a missing or an
// unknown property: the property's own pointer).
type schemaWords func(k jsonschema.ErrorKind, field string) Text

// definitionWords are the technical messages for definitions.
func definitionWords(k jsonschema.ErrorKind, field string) Text {
	switch k.(type) {
	case *kind.Required:
		return T("必填", "is required")
	case *kind.AdditionalProperties:
		tok := pointerTokens(field)
		p := tok[len(tok)-1]
		return Tf("未知的键 %q", "unknown key %q", p)
	}
	return Text{Zh: k.LocalizedString(printerZh), En: k.LocalizedString(printerEn)}
}

// schemaErrorsWith is schemaErrors with the words given.
func schemaErrorsWith(err error, prefix string, words schemaWords) []FieldError {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []FieldError{{Field: prefix, Code: "invalid", Message: T("无效的文档："+err.Error(), "invalid document: "+err.Error())}}
	}
	var out []FieldError
	collectSchemaErrors(ve, prefix, words, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	// de-duplicate identical field+code pairs
	uniq := out[:0]
	seen := map[string]bool{}
	for _, f := range out {
		k := f.Field + "\x00" + f.Code + "\x00" + f.Message.En
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, f)
		}
	}
	return uniq
}

func depth(ve *jsonschema.ValidationError) int {
	d := len(ve.InstanceLocation)
	for _, c := range ve.Causes {
		if cd := depth(c); cd > d {
			d = cd
		}
	}
	return d
}

func collectSchemaErrors(ve *jsonschema.ValidationError, prefix string, words schemaWords, out *[]FieldError) {
	switch ve.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		// report the branch that got furthest; a tie reports the alternative itself
		if len(ve.Causes) > 0 {
			best, bd, tie := ve.Causes[0], depth(ve.Causes[0]), false
			for _, c := range ve.Causes[1:] {
				if d := depth(c); d > bd {
					best, bd, tie = c, d, false
				} else if d == bd {
					tie = true
				}
			}
			if !tie || bd > len(ve.InstanceLocation) {
				collectSchemaErrors(best, prefix, words, out)
				return
			}
		}
		*out = append(*out, leafError(ve, prefix, words))
		return
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectSchemaErrors(c, prefix, words, out)
		}
		return
	}
	loc := prefix + JSONPointer(ve.InstanceLocation...)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			ptr := loc + JSONPointer(m)
			*out = append(*out, FieldError{Field: ptr, Code: "required", Message: words(k, ptr)})
		}
		return
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			ptr := loc + JSONPointer(p)
			*out = append(*out, FieldError{Field: ptr, Code: "unknown_key", Message: words(k, ptr)})
		}
		return
	}
	*out = append(*out, leafError(ve, prefix, words))
}

func leafError(ve *jsonschema.ValidationError, prefix string, words schemaWords) FieldError {
	loc := prefix + JSONPointer(ve.InstanceLocation...)
	return FieldError{Field: loc, Code: keywordOf(ve.ErrorKind), Message: words(ve.ErrorKind, loc)}
}
