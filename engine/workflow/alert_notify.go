package workflow

import (
	"context"
	"fmt"

	"formwork/engine"
)

// alertTitles name each rule kind in a notification's title.
var alertTitles = map[string]engine.Text{
	engine.RuleMassView:     {Zh: "批量查看", En: "Mass viewing"},
	engine.RuleBulkExport:   {Zh: "批量导出", En: "Bulk export"},
	engine.RuleDenials:      {Zh: "多次被拒", En: "Repeated refusals"},
	engine.RuleFailedLogins: {Zh: "多次登录失败", En: "Repeated failed logins"},
	engine.RuleOffHours:     {Zh: "非工作时间访问", En: "Off-hours access"},
	engine.RuleNewNetwork:   {Zh: "陌生网络", En: "New network"},
}

// onAlert gives every administrator and auditor an in-app notification of
// an alert, in the alert's own write, and sends it on the configured
// channels (email, webhook) as other notifications are.
func (w *Runtime) onAlert(ctx context.Context, a *engine.Alert, ch *engine.Change) error {
	users, err := w.org.ListUsers(ctx, "")
	if err != nil {
		return fmt.Errorf("alert notifications: %w", err)
	}
	now := w.now()
	kind := alertTitles[a.Rule]
	title := engine.Text{Zh: "异常告警：" + kind.Zh, En: "Anomaly alert: " + kind.En}
	if !a.Message.IsZero() {
		title.Zh += "（" + a.Message.Zh + "）"
		title.En += " (" + a.Message.En + ")"
	}
	for _, u := range users {
		if !u.Admin && !u.Auditor || u.Frozen {
			continue
		}
		n := &Notification{ID: engine.NewID(now), User: u.ID, Kind: "alert", Title: title, CreatedAt: now}
		ch.Docs = append(ch.Docs, engine.DocWrite{Doc: notificationDoc(n, now)})
		ch.Outbox = append(ch.Outbox, w.deliveries(n, now)...)
	}
	return nil
}
