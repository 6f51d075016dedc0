package designer

import (
	"fmt"
	"regexp"
	"strings"

	"formwork/engine"
)

// The expression compiler's messages are in English with a caret drawing
// under the expression; the designer shows them next to the rule in the
// user's language. These are the ones a manager meets.
var (
	exprPosition = regexp.MustCompile(`\s*\((\d+):(\d+)\)$`)
	exprWords    = []struct {
		re     *regexp.Regexp
		zh, en string // formats taking the submatches, types in plain words
	}{
		{regexp.MustCompile(`^unexpected token EOF$`), "表达式不完整", "the expression is incomplete"},
		{regexp.MustCompile(`^literal not terminated$`), "引号没有配对：文字要放在一对引号之间", "a quote is not closed: text goes between two quotes"},
		{regexp.MustCompile(`^unexpected token (.+)$`), "这里有多余或写错的符号 %s", "unexpected %s here"},
		{regexp.MustCompile(`^unknown name (\S+)$`), "没有名为「%s」的字段或函数", "there is no field or function named %s"},
		{regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+) and (\S+)\)$`), "「%s」两边的类型不同：%s 与 %s", "the two sides of %s differ: %s and %s"},
		{regexp.MustCompile(`^expected (\S+), but got (\S+)$`), "规则应得出%s，这里得出的是%s", "the rule should give %s, it gives %s"},
		{regexp.MustCompile(`^type (\S+) has no field (\S+)$`), "%s没有属性「%s」", "%s has no property %s"},
		{regexp.MustCompile(`^(\S+) is not callable$`), "「%s」不是函数", "%s is not a function"},
	}
	typeWords = map[string]engine.Text{
		"string": engine.T("文本", "text"), "int": engine.T("数字", "number"), "float": engine.T("数字", "number"),
		"float64": engine.T("数字", "number"), "bool": engine.T("是或否", "yes or no"), "time.Time": engine.T("日期时间", "date and time"),
		"time.Duration": engine.T("时长", "duration"), "EOF": engine.T("结尾", "end"),
	}
)

// exprMessage puts an expression compile error in plain words, keeping
// where in the expression it is; one it does not know keeps the
// compiler's first line.
func exprMessage(msg engine.Text) engine.Text {
	line, _, _ := strings.Cut(strings.TrimPrefix(msg.En, "expression error: "), "\n")
	if line == msg.En && !strings.HasPrefix(msg.En, "expression error: ") {
		return msg // the engine's own words (too long, too deep, not allowed)
	}
	at := engine.Text{}
	if m := exprPosition.FindStringSubmatch(line); m != nil {
		line = line[:len(line)-len(m[0])]
		at = engine.Tf("（第 %s 个字符）", " (at character %s)", m[2])
	}
	for _, w := range exprWords {
		m := w.re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		zh, en := make([]any, len(m)-1), make([]any, len(m)-1)
		for i, s := range m[1:] {
			t, ok := typeWords[s]
			if !ok {
				t = engine.T(s, s)
			}
			zh[i], en[i] = t.Zh, t.En
		}
		return engine.Text{Zh: fmt.Sprintf(w.zh, zh...) + at.Zh, En: fmt.Sprintf(w.en, en...) + at.En}
	}
	return engine.Text{Zh: "表达式有误：" + line + at.Zh, En: "expression error: " + line + at.En}
}
