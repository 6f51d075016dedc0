package engine

import (
	"context"
	"fmt"
	"time"
)

// KindAlert holds anomaly alerts.
const KindAlert = "alert"

// Alert statuses.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// Alert is one anomaly an AlertRule found: Rule is the rule's kind, User
// the user it is about, Action what was done (alert, reauth, freeze).
// DetailIn says what was found in lang.
type Alert struct {
	ID     string    `json:"id"`
	Rule   string    `json:"rule"`
	User   string    `json:"user"`
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Detail string    `json:"detail"` // in English; the API answers it in the request's language (Message)
	// Message is Detail in both languages (alerts raised before it was
	// kept have none).
	Message Text   `json:"message,omitzero"`
	Action  string `json:"action"`
	By      string `json:"by,omitempty"` // who acknowledged or resolved it
	Key     string `json:"key"`          // rule, user and window: one alert per window on every node
}

// AlertHook runs when an alert is raised, before its one atomic write: it
// may add docs and outbox jobs to the Change (the workflow runtime adds an
// in-app notification for every administrator and auditor this way).
type AlertHook func(ctx context.Context, a *Alert, ch *Change) error

// AddAlertHook registers a hook; call it before serving requests.
func (s *Service) AddAlertHook(h AlertHook) { s.alertHooks = append(s.alertHooks, h) }

func alertDoc(a *Alert, expect int64) DocWrite {
	return DocWrite{Doc: Doc{Kind: KindAlert, ID: a.ID, Tags: []string{"status:" + a.Status, "user:" + a.User},
		Unique: []string{"key:" + a.Key}, Value: MustJSON(a), Updated: a.At}, ExpectVersion: expect}
}

// Alerts lists alerts, newest first, optionally of one status
// (administrators and auditors); audited as alert.read. EINVALID for an
// unknown status.
func (s *Service) Alerts(ctx context.Context, p *Principal, status string) ([]*Alert, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "alert.read", "", "", "", "not an administrator or auditor", err)
	}
	q := DocQuery{Kind: KindAlert}
	switch status {
	case "":
	case AlertOpen, AlertAcknowledged, AlertResolved:
		q.Tag = "status:" + status
	default:
		return nil, Invalid(FieldError{Field: "/status", Code: "enum", Message: T("状态须为 open、acknowledged 或 resolved", "the status must be open, acknowledged or resolved")})
	}
	docs, err := s.store.FindDocs(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out := decodeEach[Alert](docs, nil)
	// ids are time-ordered; newest first
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if err := s.audit.Write(ctx, s.Event(p, "alert.read", "", "", "", nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return out, nil
}

// SetAlertStatus acknowledges or resolves an alert (administrators);
// audited as alert.acknowledge or alert.resolve. ENOTFOUND for an unknown
// alert, EINVALID for another status, ECONFLICT when it changed meanwhile.
func (s *Service) SetAlertStatus(ctx context.Context, p *Principal, id, status string) (*Alert, error) {
	action := "alert." + map[string]string{AlertAcknowledged: "acknowledge", AlertResolved: "resolve"}[status]
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, action, "", "", id, "not an administrator", err)
	}
	if action == "alert." {
		return nil, Invalid(FieldError{Field: "/status", Code: "enum", Message: T("状态须为 acknowledged 或 resolved", "the status must be acknowledged or resolved")})
	}
	a, ver, err := findDocAs[Alert](ctx, s.store, KindAlert, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, T("告警不存在", "alert not found"))
	}
	if err != nil {
		return nil, fmt.Errorf("find alert: %w", err)
	}
	before := a.Status
	a.Status, a.By = status, p.Actor()
	ev := s.Event(p, action, "", "", id, []string{"status"}, ResultOK, "")
	ev.Detail = MustJSON(map[string]string{"before": before, "after": status})
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{alertDoc(a, ver)}, Audit: []*AuditEvent{ev}}); err != nil {
		return nil, fmt.Errorf("set alert status: %w", err)
	}
	return a, nil
}

// DetailIn returns what the rule found in lang ("zh" or "en").
func (a *Alert) DetailIn(lang string) string {
	if a.Message.IsZero() {
		return a.Detail
	}
	return a.Message.In(lang)
}
