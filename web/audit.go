package web

import "strings"

// AuditPage is /admin/audit: the filters, one page of events, the chart
// of activity per unit and per person per day, and the export link.
type AuditPage struct {
	Page
	AdminNav
	Filter   AuditFilter
	People   []Choice
	Forms    []Choice
	Error    string
	Rows     []AuditRow
	NextURL  string // "" on the last page
	FirstURL string // "" on the first page
	CSVURL   string
	Chart    string // the chart's data as JSON, for audit.js
	Sampled  int    // events the chart counts
	Partial  bool   // more events matched than the chart counts
	Record   string // when the filter names a record: "who looked at this"
}

// AuditFilter is what the filter form holds.
type AuditFilter struct {
	Actor, Action, Form, Record, Result, IP, From, To string
}

// AuditRow is one event as the audit page shows it.
type AuditRow struct {
	Seq       string
	Time      string
	Person    string
	Action    string
	Where     string
	Object    string
	ObjectURL string // the record's history, when the event names a record
	Fields    string
	Result    string // ok, denied, failed
	Reason    string
	IP        string
}

// ActionLabel is an audit action in words; an action without a label
// shows as itself.
func ActionLabel(lang, action string) string {
	k := "audit.act." + action
	if _, ok := messages[k]; ok {
		return Msg(lang, k)
	}
	if i := strings.IndexByte(action, '.'); i > 0 {
		if _, ok := messages["audit.act."+action[:i]]; ok {
			return Msg(lang, "audit.act."+action[:i]) + " · " + action[i+1:]
		}
	}
	return action
}

// ResultLabel is an audit result in words.
func ResultLabel(lang, result string) string { return Msg(lang, "audit.result."+result) }

// BinPage is a form's recycle bin.
type BinPage struct {
	Page
	FormTitle string
	ListURL   string
	Columns   []string
	Rows      []BinRow
	NextURL   string
	CanPurge  bool
	AskCode   bool   // the administrator has a second factor: purging asks for a code
	Retention string // "" when deleted records are kept until purged
	Error     string
}

// BinRow is one deleted record.
type BinRow struct {
	ID         string
	Cells      []string
	DeletedBy  string
	DeletedAt  string
	RestoreURL string
	PurgeURL   string
	Version    string
}
