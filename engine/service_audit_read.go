package engine

import (
	"context"
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// requireAuditor lets system administrators and system auditors through:
// the audit log, alerts and explain are theirs to read.
func requireAuditor(p *Principal) error {
	if p == nil || p.User == nil {
		return Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if !p.User.Admin && !p.User.Auditor {
		return Errorf(EFORBIDDEN, T("需要系统管理员或审计员权限", "system administrators and auditors only"))
	}
	if limitedToken(p) {
		return errLimitedToken
	}
	return nil
}

// CanAudit reports whether p may read the audit log (administrators and
// auditors), so pages know whether to offer it; it writes nothing.
func CanAudit(p *Principal) bool { return requireAuditor(p) == nil }

// checkAuditQuery refuses a result the log never holds, so a typo does not
// look like "nothing happened".
func checkAuditQuery(q AuditQuery) error {
	switch q.Result {
	case "", ResultOK, ResultDenied, ResultFailed:
		return nil
	}
	return Invalid(FieldError{Field: "/result", Code: "enum", Message: T("结果须为 ok、denied 或 failed", "result must be ok, denied or failed")})
}

// ExportAudit writes the page q selects as CSV to w (administrators and
// auditors), with an audit event naming the filter and the row count.
func (s *Service) ExportAudit(ctx context.Context, p *Principal, q AuditQuery, w io.Writer) error {
	if err := requireAuditor(p); err != nil {
		return s.deny(ctx, p, "audit.export", "", "", "", "not an administrator or auditor", err)
	}
	if err := checkAuditQuery(q); err != nil {
		return err
	}
	page, err := s.store.FindAuditEvents(ctx, q)
	if err != nil {
		return err
	}
	ev := s.Event(p, "audit.export", q.App, q.Form, q.Object, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"rows": len(page.Items), "actor": q.Actor, "action": q.Action, "result": q.Result, "ip": q.IP,
		"from": timeOrEmpty(q.From), "to": timeOrEmpty(q.To), "cursor": q.Cursor})
	if err := s.audit.Write(ctx, ev); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"seq", "time", "actor", "ip", "action", "app", "form", "object", "fields", "result", "reason"})
	for _, e := range page.Items {
		_ = cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Actor, e.IP, e.Action, e.App, e.Form,
			e.Object, strings.Join(e.Fields, " "), e.Result, e.Reason})
	}
	cw.Flush()
	return cw.Error()
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// AuditActivity counts events per day, per person and per unit (the
// person's store or department).
type AuditActivity struct {
	Days     []string          // YYYY-MM-DD in the organisation's time zone, oldest first
	ByUnit   map[string][]int  // unit key → events per day
	ByPerson map[string][]int  // actor → events per day
	Units    map[string]string // actor → unit key ("" for the system)
	Sample   int               // events counted
	Complete bool              // false when more events matched than were counted
}

// AuditActivityLimit is how many of the newest matching events the chart
// counts: one page of the log, so the chart costs what a page does.
const AuditActivityLimit = MaxAuditLimit

// Activity counts the newest AuditActivityLimit events q selects per day,
// per person and per unit (administrators and auditors). It answers a
// question and writes no audit event: the page it belongs to writes one.
func (s *Service) Activity(ctx context.Context, p *Principal, q AuditQuery) (*AuditActivity, error) {
	if err := requireAuditor(p); err != nil {
		return nil, err
	}
	if err := checkAuditQuery(q); err != nil {
		return nil, err
	}
	q.Limit, q.Cursor = AuditActivityLimit, ""
	page, err := s.store.FindAuditEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	users, err := s.org.ListUsers(ctx, "")
	if err != nil {
		return nil, err
	}
	unitOf := make(map[string]string, len(users))
	for _, u := range users {
		unitOf[u.ID] = u.Unit
	}
	a := &AuditActivity{ByUnit: map[string][]int{}, ByPerson: map[string][]int{}, Units: map[string]string{},
		Sample: len(page.Items), Complete: page.NextCursor == ""}
	byDay := map[string]int{}
	for _, e := range page.Items {
		d := e.Time.In(s.zone).Format(time.DateOnly)
		if _, ok := byDay[d]; !ok {
			byDay[d] = 0
			a.Days = append(a.Days, d)
		}
	}
	sort.Strings(a.Days)
	for i, d := range a.Days {
		byDay[d] = i
	}
	for _, e := range page.Items {
		i := byDay[e.Time.In(s.zone).Format(time.DateOnly)]
		unit := unitOf[e.Actor]
		a.Units[e.Actor] = unit
		addDay(a.ByPerson, e.Actor, i, len(a.Days))
		addDay(a.ByUnit, unit, i, len(a.Days))
	}
	return a, nil
}

func addDay(m map[string][]int, key string, i, n int) {
	if m[key] == nil {
		m[key] = make([]int, n)
	}
	m[key][i]++
}
