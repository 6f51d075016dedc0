package engine

import (
	"strings"
	"unicode/utf8"
)

// Sensitive data classes (x-sensitive).
const (
	ClassName     = "name"
	ClassPhone    = "phone"
	ClassIDNumber = "id_number"
	ClassEmail    = "email"
	ClassBankCard = "bank_card"
	ClassAddress  = "address"
)

// Mask returns the masked text of a value of a data class: phone
// 139****2222, id_number 1101**********1234, name 欧* / 欧**, email
// z***@example.com, bank_card **** **** **** 1234, address up to the
// district. A field with no class is masked whole.
func Mask(class string, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any: // structured address: keep province/city/district only
		out := map[string]any{}
		for _, k := range []string{"province", "city", "district"} {
			if s, ok := x[k]; ok {
				out[k] = s
			}
		}
		return out
	case string:
		return maskString(class, x)
	}
	return "****"
}

func maskString(class, s string) string {
	r := []rune(s)
	n := len(r)
	switch class {
	case ClassPhone:
		if n >= 7 {
			return string(r[:3]) + "****" + string(r[n-4:])
		}
	case ClassIDNumber:
		if n >= 8 {
			return string(r[:4]) + strings.Repeat("*", n-8) + string(r[n-4:])
		}
	case ClassName:
		if n >= 1 {
			return string(r[:1]) + strings.Repeat("*", max(n-1, 1))
		}
	case ClassEmail:
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			first, _ := utf8.DecodeRuneInString(s)
			return string(first) + "***" + s[at:]
		}
	case ClassBankCard:
		digits := strings.ReplaceAll(s, " ", "")
		if len(digits) >= 8 {
			return "**** **** **** " + digits[len(digits)-4:]
		}
	case ClassAddress:
		return maskAddress(s)
	}
	return "****"
}

// maskAddress keeps a Chinese address up to the district (区/县/旗 or a
// county-level 市 after the city); anything else keeps its first part.
func maskAddress(s string) string {
	r := []rune(s)
	cut := -1
	for i, c := range r {
		if c == '区' || c == '县' || c == '旗' {
			cut = i + 1
			break
		}
	}
	if cut < 0 {
		for i, c := range r {
			if c == '市' {
				cut = i + 1
			}
		}
	}
	if cut > 0 && cut < len(r) {
		return string(r[:cut]) + "****"
	}
	if i := strings.IndexByte(s, ','); i > 0 {
		return s[:i] + ", ****"
	}
	return "****"
}
