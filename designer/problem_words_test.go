package designer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

func TestRuleProblemsInPlainWords(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	cases := []struct {
		expr string
		want engine.Text
	}{
		{"name ==", engine.T("表达式不完整（第 7 个字符）", "the expression is incomplete (at character 7)")},
		{"nme == 'a'", engine.T("没有名为「nme」的字段或函数（第 1 个字符）", "there is no field or function named nme (at character 1)")},
		{"name == 1", engine.T("「==」两边的类型不同：文本 与 数字（第 6 个字符）", "the two sides of == differ: text and number (at character 6)")},
		{"level", engine.T("规则应得出是或否，这里得出的是文本", "the rule should give yes or no, it gives text")},
		{"name == 'a", engine.T("引号没有配对：文字要放在一对引号之间（第 11 个字符）", "a quote is not closed: text goes between two quotes (at character 11)")},
		{"name.foo", engine.T("文本没有属性「foo」（第 6 个字符）", "text has no property foo (at character 6)")},
	}
	version := int64(0)
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			ej, _ := json.Marshal(c.expr)
			d, err := f.d.Patch(ctx, f.users["des"], "mini", []byte(`[{"op":"add","path":"/forms/0/properties/level/x-visible","value":`+string(ej)+`}]`), version)
			if err != nil {
				t.Fatal(err)
			}
			version = d.Version
			if len(d.Problems) != 1 || d.Problems[0].Pointer != "/forms/0/properties/level/x-visible" {
				t.Fatalf("problems: %+v", d.Problems)
			}
			if diff := cmp.Diff(c.want, d.Problems[0].Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWorkflowProblemWords: a workflow the manager is building reports its
// problems in the designer's words, not the format's keys.
func TestWorkflowProblemWords(t *testing.T) {
	f := newFixture(t)
	broken := strings.Replace(miniBundle, `"assignees": {"roles": ["staff"]}`, `"assignees": {"roles": ["staff"], "users": ["des@example.com"]}`, 1)
	d, err := f.d.Save(ctx, f.users["admin"], "mini", []byte(broken), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) != 1 || !strings.Contains(d.Problems[0].Message.Zh, "请选择由谁处理") || strings.Contains(d.Problems[0].Message.En, "unit_head") {
		t.Errorf("problems: %+v", d.Problems)
	}
}
