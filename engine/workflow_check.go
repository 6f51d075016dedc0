package engine

import (
	"fmt"
)

// checkWorkflows checks workflow definitions: forms, roles and fields they
// name exist, node keys are unique, expressions compile against the form's
// field types, durations parse, and each node carries only what its type uses.
func (l *loader) checkWorkflows(b *Bundle) {
	seen := map[string]bool{}
	for _, w := range b.Workflows {
		ptr := l.wfPtr[w]
		if seen[w.Key] {
			l.add(ptr+"/key", "duplicate", Tf("流程键 %q 重复", "workflow key %q is used twice", w.Key))
		}
		seen[w.Key] = true
		f := b.Form(w.Form)
		if f == nil {
			l.add(ptr+"/form", "reference", Tf("表单 %q 不存在", "form %q does not exist", w.Form))
			continue
		}
		env := newExprCompiler(typeEnv(f.Fields))
		if w.Trigger.When != "" {
			if _, err := env.check(w.Trigger.When, "boolean"); err != nil {
				l.add(ptr+"/trigger/when", "expr", err.(*exprCompileError).msg)
			}
		}
		wc := &wfChecker{l: l, b: b, f: f, env: env, keys: map[string]string{}}
		wc.nodes(w.Nodes, ptr+"/nodes")
	}
}

type wfChecker struct {
	l    *loader
	b    *Bundle
	f    *Form
	env  *exprCompiler
	keys map[string]string
}

func (c *wfChecker) nodes(nodes []*Node, ptr string) {
	for i, n := range nodes {
		c.node(n, fmt.Sprintf("%s/%d", ptr, i))
	}
}

func (c *wfChecker) node(n *Node, ptr string) {
	l := c.l
	if prev, dup := c.keys[n.Key]; dup {
		l.add(ptr+"/key", "duplicate", Tf("节点键 %q 与 %s 重复", "node key %q is already used at %s", n.Key, prev))
	} else {
		c.keys[n.Key] = ptr
	}
	present := map[string]bool{
		"assignees": n.Assignees != nil, "mode": n.Mode != "", "fields": n.Fields != nil,
		"timeout": n.Timeout != nil, "branches": n.Branches != nil, "to": n.To != nil,
		"set": n.Set != nil, "plugin": n.Plugin != nil, "self": n.Self != "",
	}
	allowed := map[string][]string{
		NodeApproval:  {"assignees", "mode", "fields", "timeout", "self"},
		NodeCondition: {"branches"},
		NodeParallel:  {"branches"},
		NodeCC:        {"to"},
		NodeAction:    {"set", "plugin", "fields"}, // fields: what a plugin call sends of the record
		NodeEnd:       {},
	}[n.Type]
	for k, ok := range present {
		if !ok {
			continue
		}
		used := false
		for _, a := range allowed {
			used = used || a == k
		}
		if !used {
			l.add(ptr+"/"+k, "unused", Tf("%s 节点不使用 %q", "a %s node does not take %q", n.Type, k))
		}
	}
	for k := range n.Fields {
		if k != "*" && c.f.Field(k) == nil {
			l.add(ptr+"/fields"+JSONPointer(k), "reference", Tf("字段 %q 不存在", "field %q does not exist", k))
		}
	}
	switch n.Type {
	case NodeApproval:
		c.assignees(n.Assignees, ptr+"/assignees")
		if t := n.Timeout; t != nil {
			for _, d := range []struct{ k, v string }{{"remind", t.Remind}, {"after", t.After}} {
				if d.v == "" {
					continue
				}
				if _, err := ParseISODuration(d.v); err != nil {
					l.add(ptr+"/timeout/"+d.k, "duration", Tf("时长无效：%v", "invalid duration: %v", err))
				}
			}
			if t.Action != "" && t.After == "" {
				l.add(ptr+"/timeout/after", "required", T("超时动作需要 after", "a timeout action needs after"))
			}
			if t.Action == "escalate" && t.To == nil {
				l.add(ptr+"/timeout/to", "required", T("升级需要 to", "escalate needs to"))
			}
			if t.To != nil {
				if t.Action != "escalate" {
					l.add(ptr+"/timeout/to", "unused", T("只有 escalate 使用 to", "only escalate takes to"))
				}
				c.assignees(t.To, ptr+"/timeout/to")
			}
		}
	case NodeCondition, NodeParallel:
		elses := 0
		for i, br := range n.Branches {
			bptr := fmt.Sprintf("%s/branches/%d", ptr, i)
			if n.Type == NodeCondition {
				switch {
				case br.Else && br.When != "":
					l.add(bptr, "branch", T("分支不能同时有 when 和 else", "a branch cannot have both when and else"))
				case br.Else:
					elses++
					if i != len(n.Branches)-1 {
						l.add(bptr+"/else", "branch", T("else 分支必须是最后一个", "the else branch must come last"))
					}
				case br.When == "":
					l.add(bptr, "required", T("分支需要 when 或 else", "a branch needs when or else"))
				default:
					if _, err := c.env.check(br.When, "boolean"); err != nil {
						l.add(bptr+"/when", "expr", err.(*exprCompileError).msg)
					}
				}
			} else if br.Else || br.When != "" {
				l.add(bptr, "branch", T("并行分支不使用 when 或 else", "parallel branches take no when or else"))
			}
			c.nodes(br.Nodes, bptr+"/nodes")
		}
		if elses > 1 {
			l.add(ptr+"/branches", "branch", T("最多一个 else 分支", "at most one else branch"))
		}
	case NodeCC:
		c.assignees(n.To, ptr+"/to")
	case NodeAction:
		if n.Set == nil && n.Plugin == nil {
			l.add(ptr, "required", T("动作节点需要 set 或 plugin", "an action node needs set or plugin"))
		}
		for k, src := range n.Set {
			fd := c.f.Field(k)
			if fd == nil {
				l.add(ptr+"/set"+JSONPointer(k), "reference", Tf("字段 %q 不存在", "field %q does not exist", k))
				continue
			}
			if fd.Compute != "" {
				l.add(ptr+"/set"+JSONPointer(k), "formula", Tf("公式字段 %q 不能被设置", "formula field %q cannot be set", k))
				continue
			}
			want := fd.Type
			if want == "boolean" {
				want = "boolean"
			}
			if _, err := c.env.check(src, want); err != nil {
				l.add(ptr+"/set"+JSONPointer(k), "expr", err.(*exprCompileError).msg)
			}
		}
	}
}

func (c *wfChecker) assignees(a *Assignees, ptr string) {
	if a == nil {
		return
	}
	l := c.l
	n := 0
	for _, set := range []bool{len(a.Roles) > 0, len(a.Users) > 0, a.UnitHead != "", a.Field != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		l.add(ptr, "assignees", T("请只指定 roles、users、unit_head、field 中的一种", "name exactly one of roles, users, unit_head or field"))
	}
	if a.LevelsUp != 0 && a.UnitHead == "" {
		l.add(ptr+"/levels_up", "unused", T("levels_up 只能与 unit_head 一起使用", "levels_up goes with unit_head only"))
	}
	for i, r := range a.Roles {
		if c.b.Role(r) == nil {
			l.add(fmt.Sprintf("%s/roles/%d", ptr, i), "reference", Tf("角色 %q 不存在", "role %q does not exist", r))
		}
	}
	if a.Field != "" {
		fd := c.f.Field(a.Field)
		switch {
		case fd == nil:
			l.add(ptr+"/field", "reference", Tf("字段 %q 不存在", "field %q does not exist", a.Field))
		case fd.Widget != WidgetMember:
			l.add(ptr+"/field", "widget", Tf("字段 %q 不是成员字段", "field %q is not a member field", a.Field))
		}
	}
}
