package workflow

import (
	"time"

	"formwork/engine"
)

// Doc kinds of the workflow runtime.
const (
	KindWorkflowInstance = "wf_instance"
	KindTask             = "wf_task"
	KindNotification     = "notification"
	KindPluginRun        = "plugin_run"
)

// Job types of the workflow runtime (noun:verb); engine/queue registers
// Runtime.HandleJob for each of them.
const (
	JobWorkflowRemind  = "workflow:remind"  // a node's reminder is due
	JobWorkflowTimeout = "workflow:timeout" // a node's deadline passed
	JobWorkflowPlugin  = "workflow:plugin"  // an action node calls a plugin
	JobNotifyDeliver   = "notify:deliver"   // a notification goes out on a channel plugin
)

// JobTypes lists every job type Runtime.HandleJob serves.
func JobTypes() []string {
	return []string{JobWorkflowRemind, JobWorkflowTimeout, JobWorkflowPlugin, JobNotifyDeliver}
}

// Instance statuses; the final ones equal the record statuses they set.
const (
	InstanceRunning   = "running"
	InstanceApproved  = engine.StatusApproved
	InstanceRejected  = engine.StatusRejected
	InstanceWithdrawn = engine.StatusWithdrawn
)

// Task statuses.
const (
	TaskOpen        = "open"
	TaskApproved    = "approved"
	TaskRejected    = "rejected"
	TaskReturned    = "returned"
	TaskTransferred = "transferred"
	TaskCancelled   = "cancelled" // closed because the node or the workflow was decided elsewhere
	TaskWithdrawn   = "withdrawn"
	TaskTimedOut    = "timed_out"
)

// Approval modes.
const (
	ModeAny      = "any"
	ModeAll      = "all"
	ModeSequence = "sequence"
)

// Instance is one run of a workflow on one record, stored as a Doc of kind
// KindWorkflowInstance. Every transition rewrites it at its expected
// version, so two approvers acting at once cannot both win.
type Instance struct {
	ID            string         `json:"id"`
	App           string         `json:"app"`
	Form          string         `json:"form"`
	FormVersion   int            `json:"form_version"`
	Workflow      string         `json:"workflow"`
	Record        string         `json:"record"`
	Submitter     string         `json:"submitter"`
	SubmitterUnit string         `json:"submitter_unit"`
	Status        string         `json:"status"`
	StartedAt     time.Time      `json:"started_at"`
	EndedAt       *time.Time     `json:"ended_at,omitempty"`
	Acted         bool           `json:"acted,omitempty"` // an approver decided something: no more withdrawing
	Seq           int            `json:"seq"`             // activation counter
	Active        []*Activation  `json:"active,omitempty"`
	Joins         map[string]int `json:"joins,omitempty"` // parallel node key → branches still running
	Steps         []Step         `json:"steps"`
	Version       int64          `json:"-"`
}

// Activation is one approval node waiting for decisions. Seq numbers
// activations within an instance, so a timer or task of an earlier visit
// of the same node (before a return) is recognised as stale.
type Activation struct {
	Seq      int        `json:"seq"`
	Node     string     `json:"node"`
	Mode     string     `json:"mode"`
	Queue    []string   `json:"queue,omitempty"`    // sequence mode: assignees still to come
	Approved []string   `json:"approved,omitempty"` // who approved so far
	RemindAt *time.Time `json:"remind_at,omitempty"`
	DueAt    *time.Time `json:"due_at,omitempty"`
	Reminded bool       `json:"reminded,omitempty"`
	TimedOut bool       `json:"timed_out,omitempty"`
}

// Step is one entry of an instance's history, shown on the timeline.
type Step struct {
	At      time.Time      `json:"at"`
	Kind    string         `json:"kind"` // start, task, approve, reject, return, transfer, add_signer, comment, withdraw, remind, escalate, timeout, cc, set, plugin, condition, end
	Node    string         `json:"node,omitempty"`
	Actor   string         `json:"actor,omitempty"`
	Users   []string       `json:"users,omitempty"`
	Comment string         `json:"comment,omitempty"`
	Detail  map[string]any `json:"detail,omitempty"`
}

// Task is one approver's to-do on one activation, stored as a Doc of kind
// KindTask tagged "assignee:<user>|open" (or "|done"), "instance:<id>|open"
// and "record:<id>" for the inbox and the record page.
type Task struct {
	ID         string       `json:"id"`
	Instance   string       `json:"instance"`
	App        string       `json:"app"`
	Form       string       `json:"form"`
	Record     string       `json:"record"`
	Workflow   string       `json:"workflow"`
	WorkflowNm engine.Text  `json:"workflow_name"`
	Node       string       `json:"node"`
	NodeName   *engine.Text `json:"node_name,omitempty"`
	Activation int          `json:"activation"`
	Assignee   string       `json:"assignee"`
	Submitter  string       `json:"submitter"`
	Status     string       `json:"status"`
	CreatedAt  time.Time    `json:"created_at"`
	DueAt      *time.Time   `json:"due_at,omitempty"`
	DoneAt     *time.Time   `json:"done_at,omitempty"`
	Comment    string       `json:"comment,omitempty"`
	Escalated  bool         `json:"escalated,omitempty"` // created by a timeout escalation or an empty assignee set
	From       string       `json:"from,omitempty"`      // transferred or added by this user
	Version    int64        `json:"-"`
}

// Notification is an in-app message for one user (the inbox badge counts
// the unread ones); channel plugins deliver it further.
type Notification struct {
	ID        string          `json:"id"`
	User      string          `json:"user"`
	Kind      string          `json:"kind"` // task, remind, escalate, result, cc, returned, alert
	Title     engine.Text     `json:"title"`
	App       string          `json:"app,omitempty"`
	Form      string          `json:"form,omitempty"`
	Record    string          `json:"record,omitempty"`
	Task      string          `json:"task,omitempty"`
	Instance  string          `json:"instance,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Read      bool            `json:"read,omitempty"`
	Delivered map[string]bool `json:"delivered,omitempty"` // channel → sent
	Version   int64           `json:"-"`
}

func taskTags(t *Task) []string {
	state := "done"
	if t.Status == TaskOpen {
		state = "open"
	}
	tags := []string{"assignee:" + t.Assignee + "|" + state, "assignee:" + t.Assignee, "instance:" + t.Instance, "record:" + t.Record}
	if t.Status == TaskOpen {
		tags = append(tags, "instance:"+t.Instance+"|open")
	}
	return tags
}

func taskDoc(t *Task, now time.Time) engine.Doc {
	return engine.Doc{Kind: KindTask, ID: t.ID, Tags: taskTags(t), Value: engine.MustJSON(t), Updated: now}
}

func instanceDoc(in *Instance, now time.Time) engine.Doc {
	return engine.Doc{Kind: KindWorkflowInstance, ID: in.ID, Tags: []string{"record:" + in.Record, "record:" + in.Record + "|" + in.Status, "status:" + in.Status, "submitter:" + in.Submitter},
		Value: engine.MustJSON(in), Updated: now}
}

func notificationDoc(n *Notification, now time.Time) engine.Doc {
	tags := []string{"user:" + n.User}
	if !n.Read {
		tags = append(tags, "user:"+n.User+"|unread")
	}
	return engine.Doc{Kind: KindNotification, ID: n.ID, Tags: tags, Value: engine.MustJSON(n), Updated: now}
}

func taskFromDoc(d *engine.Doc) (*Task, error) {
	var t Task
	if err := engine.DecodeDoc(d, &t); err != nil {
		return nil, err
	}
	t.Version = d.Version
	return &t, nil
}

func instanceFromDoc(d *engine.Doc) (*Instance, error) {
	var in Instance
	if err := engine.DecodeDoc(d, &in); err != nil {
		return nil, err
	}
	in.Version = d.Version
	return &in, nil
}

func notificationFromDoc(d *engine.Doc) (*Notification, error) {
	var n Notification
	if err := engine.DecodeDoc(d, &n); err != nil {
		return nil, err
	}
	n.Version = d.Version
	return &n, nil
}

// activation returns the live activation with seq, or nil.
func (in *Instance) activation(seq int) *Activation {
	for _, a := range in.Active {
		if a.Seq == seq {
			return a
		}
	}
	return nil
}

func (in *Instance) dropActivation(seq int) {
	out := in.Active[:0]
	for _, a := range in.Active {
		if a.Seq != seq {
			out = append(out, a)
		}
	}
	in.Active = out
}
