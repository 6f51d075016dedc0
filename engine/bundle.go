package engine

import (
	"encoding/json"
	"regexp"
)

// KeyPattern is the pattern of every key in a bundle: app, form, field, role,
// node and unit keys.
var KeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Bundle is one app: its forms, roles and workflows, as loaded and checked
// by LoadBundle. Raw keeps the document as it was given.
type Bundle struct {
	Formwork   string                      `json:"formwork"`
	App        AppInfo                     `json:"app"`
	Units      []UnitDef                   `json:"units,omitempty"`
	Roles      []*Role                     `json:"roles"`
	Forms      []*Form                     `json:"-"`
	Workflows  []*Workflow                 `json:"workflows"`
	Views      []*View                     `json:"views,omitempty"`
	Dashboards []*Dashboard                `json:"dashboards,omitempty"`
	SampleData map[string][]map[string]any `json:"sample_data,omitempty"`
	Raw        json.RawMessage             `json:"-"`

	compiled map[string]*CompiledForm
}

// AppInfo names and versions an app.
type AppInfo struct {
	Key         string `json:"key"`
	Name        Text   `json:"name"`
	Version     string `json:"version"`
	Description *Text  `json:"description,omitempty"`
	// Export tunes the app's exports: invisible_mark false leaves the
	// invisible watermark out of its files (the visible one stays).
	Export *AppExport `json:"export,omitempty"`
}

// AppExport is an app's export settings (FORMAT "further keys").
type AppExport struct {
	InvisibleMark *bool `json:"invisible_mark,omitempty"`
}

// UnitDef is an organisation unit a bundle suggests (templates ship a sample tree).
type UnitDef struct {
	Key    string `json:"key"`
	Name   Text   `json:"name"`
	Parent string `json:"parent,omitempty"`
}

// View is a saved list view of a form: columns, a filter and a sort.
type View struct {
	Key     string          `json:"key"`
	Form    string          `json:"form"`
	Name    Text            `json:"name"`
	Columns []string        `json:"columns,omitempty"`
	Filter  json.RawMessage `json:"filter,omitempty"`
	Sort    []string        `json:"sort,omitempty"`
}

// Form returns the form with key, or nil.
func (b *Bundle) Form(key string) *Form {
	for _, f := range b.Forms {
		if f.Key == key {
			return f
		}
	}
	return nil
}

// Role returns the role with key, or nil.
func (b *Bundle) Role(key string) *Role {
	for _, r := range b.Roles {
		if r.Key == key {
			return r
		}
	}
	return nil
}

// Workflow returns the workflow with key, or nil.
func (b *Bundle) Workflow(key string) *Workflow {
	for _, w := range b.Workflows {
		if w.Key == key {
			return w
		}
	}
	return nil
}

// Operation is what a role (or a temporary grant) allows a user to do on
// a form's records; see WriteOp for what the store writes.
type Operation = string

// Operations a role may be granted on a form.
const (
	OpCreate Operation = "create"
	OpRead   Operation = "read"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
	OpExport Operation = "export"
	OpImport Operation = "import"
	OpPrint  Operation = "print"
)

// Field permission levels, weakest first.
const (
	PermHidden = "hidden"
	PermMasked = "masked"
	PermRead   = "read"
	PermEdit   = "edit"
)

// PermRank orders field permissions: hidden < masked < read < edit.
func PermRank(p string) int {
	switch p {
	case PermMasked:
		return 1
	case PermRead:
		return 2
	case PermEdit:
		return 3
	}
	return 0
}

// Role is a named set of permissions within one app.
type Role struct {
	Key         string                     `json:"key"`
	Name        Text                       `json:"name"`
	MFA         bool                       `json:"mfa,omitempty"`
	Policy      *AccessPolicy              `json:"policy,omitempty"`
	Permissions map[string]*FormPermission `json:"permissions"`
}

// AccessPolicy restricts when and where a role's permissions apply.
type AccessPolicy struct {
	Hours    string   `json:"hours,omitempty"`    // "09:00-21:00" in the org's time zone
	Weekdays []int    `json:"weekdays,omitempty"` // 1 = Monday … 7 = Sunday
	IP       []string `json:"ip,omitempty"`       // CIDR ranges
}

// FormPermission is what a role may do on one form.
type FormPermission struct {
	Operations []string          `json:"operations"`
	Scope      Scope             `json:"scope"`
	Fields     map[string]string `json:"fields,omitempty"`
	Export     *ExportRule       `json:"export,omitempty"`
}

// Scope is a data scope: one of own, unit, unit_and_below, all, or a filter.
type Scope struct {
	Kind   string          // own, unit, unit_and_below, all, filter
	Filter json.RawMessage // when Kind == "filter"
}

// Scope kinds.
const (
	ScopeOwn          = "own"
	ScopeUnit         = "unit"
	ScopeUnitAndBelow = "unit_and_below"
	ScopeAll          = "all"
	ScopeFilter       = "filter"
)

// MarshalJSON writes the scope as in the bundle.
func (s Scope) MarshalJSON() ([]byte, error) {
	if s.Kind == ScopeFilter {
		return json.Marshal(map[string]json.RawMessage{"filter": s.Filter})
	}
	return json.Marshal(s.Kind)
}

// UnmarshalJSON reads a scope string or {"filter": …}.
func (s *Scope) UnmarshalJSON(b []byte) error {
	var k string
	if err := json.Unmarshal(b, &k); err == nil {
		*s = Scope{Kind: k}
		return nil
	}
	var f struct {
		Filter json.RawMessage `json:"filter"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Scope{Kind: ScopeFilter, Filter: f.Filter}
	return nil
}

// Workflow is an approval flow bound to a form.
type Workflow struct {
	Key     string  `json:"key"`
	Form    string  `json:"form"`
	Name    Text    `json:"name"`
	Trigger Trigger `json:"trigger"`
	Nodes   []*Node `json:"nodes"`
}

// Trigger says when a workflow starts.
type Trigger struct {
	On   []string `json:"on"`
	When string   `json:"when,omitempty"`
}

// Node types.
const (
	NodeApproval  = "approval"
	NodeCondition = "condition"
	NodeParallel  = "parallel"
	NodeCC        = "cc"
	NodeAction    = "action"
	NodeEnd       = "end"
)

// Node is one step of a workflow.
type Node struct {
	Key       string            `json:"key"`
	Type      string            `json:"type"`
	Name      *Text             `json:"name,omitempty"`
	Assignees *Assignees        `json:"assignees,omitempty"`
	Mode      string            `json:"mode,omitempty"` // any, all, sequence
	Fields    map[string]string `json:"fields,omitempty"`
	Timeout   *Timeout          `json:"timeout,omitempty"`
	Self      string            `json:"self,omitempty"` // approval: NodeSelfAllow lets the submitter decide their own record
	Branches  []*Branch         `json:"branches,omitempty"`
	To        *Assignees        `json:"to,omitempty"`
	Set       map[string]string `json:"set,omitempty"`
	Plugin    *PluginCall       `json:"plugin,omitempty"`
}

// What an approval node does when its assignees include the record's
// submitter (its "self" key).
const (
	// NodeSelfPass, the default, leaves the submitter out: the step goes
	// to the node's other assignees or, with none left, escalates.
	NodeSelfPass = "pass"
	// NodeSelfAllow lets the submitter decide their own record.
	NodeSelfAllow = "allow"
)

// Assignees says who acts on (or is notified by) a node.
type Assignees struct {
	Roles    []string `json:"roles,omitempty"`
	Users    []string `json:"users,omitempty"`
	UnitHead string   `json:"unit_head,omitempty"` // "submitter"
	LevelsUp int      `json:"levels_up,omitempty"`
	Field    string   `json:"field,omitempty"`
}

// Timeout is a node's reminder and deadline.
type Timeout struct {
	Remind string     `json:"remind,omitempty"` // ISO 8601 duration
	After  string     `json:"after,omitempty"`  // ISO 8601 duration
	Action string     `json:"action,omitempty"` // escalate, approve, reject
	To     *Assignees `json:"to,omitempty"`
}

// Branch is one path of a condition or parallel node.
type Branch struct {
	Name  *Text   `json:"name,omitempty"`
	When  string  `json:"when,omitempty"`
	Else  bool    `json:"else,omitempty"`
	Nodes []*Node `json:"nodes"`
}

// PluginCall is an action node's call of a plugin (webhook, email …).
type PluginCall struct {
	Name   string         `json:"name"`
	Config map[string]any `json:"config,omitempty"`
}

// Compiled returns the compiled form with key from a loaded bundle, or nil.
func (b *Bundle) Compiled(key string) *CompiledForm { return b.compiled[key] }
