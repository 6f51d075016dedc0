package engine

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// KindSettings holds organisation-wide settings docs; the anomaly rules
// are the one with id SettingsAnomaly.
const (
	KindSettings    = "settings"
	SettingsAnomaly = "anomaly"
)

// Anomaly rule kinds.
const (
	RuleMassView     = "mass_view"     // distinct records viewed within the window
	RuleBulkExport   = "bulk_export"   // rows exported within the window
	RuleDenials      = "denials"       // refused actions within the window
	RuleFailedLogins = "failed_logins" // wrong passwords for the user within the window
	RuleOffHours     = "off_hours"     // any action outside the rule's hours in the organisation's time zone
	RuleNewNetwork   = "new_network"   // an action from an address the user never used before
)

// Anomaly rule actions.
const (
	ActionAlert  = "alert"
	ActionReauth = "reauth"
	ActionFreeze = "freeze"
)

// AlertRule is one anomaly rule: Threshold events of Kind within Window
// (an ISO 8601 duration) by one user raise an alert and take Action. Roles,
// when given, limits the rule to users holding one of these role keys in
// any app. Hours is the working day [from, to) in whole hours for
// off_hours (default 8 to 20).
type AlertRule struct {
	Kind      string   `json:"kind"`
	Threshold int      `json:"threshold"`
	Window    string   `json:"window"`
	Action    string   `json:"action"`
	Roles     []string `json:"roles,omitempty"`
	Hours     []int    `json:"hours,omitempty"`
}

// AnomalySettings is the rules doc an administrator sets.
type AnomalySettings struct {
	Rules []AlertRule `json:"rules"`
}

var ruleKinds = []string{RuleMassView, RuleBulkExport, RuleDenials, RuleFailedLogins, RuleOffHours, RuleNewNetwork}

// window returns the rule's window; Validate has checked it.
func (r AlertRule) window() time.Duration {
	d, err := ParseISODuration(r.Window)
	if err != nil || d <= 0 {
		return time.Hour
	}
	return d
}

// hours returns the working day of an off_hours rule.
func (r AlertRule) hours() (from, to int) {
	if len(r.Hours) == 2 {
		return r.Hours[0], r.Hours[1]
	}
	return 8, 20
}

// appliesTo reports whether the rule watches u.
func (r AlertRule) appliesTo(u *User) bool {
	if len(r.Roles) == 0 {
		return true
	}
	for _, keys := range u.Roles {
		for _, k := range keys {
			if slices.Contains(r.Roles, k) {
				return true
			}
		}
	}
	return false
}

// Validate checks every rule and returns EINVALID with a field error per
// problem, pointing at /rules/N/FIELD.
func (a *AnomalySettings) Validate() error {
	var errs []FieldError
	bad := func(i int, field, code string, msg Text) {
		errs = append(errs, FieldError{Field: fmt.Sprintf("/rules/%d/%s", i, field), Code: code, Message: msg})
	}
	for i, r := range a.Rules {
		if !slices.Contains(ruleKinds, r.Kind) {
			bad(i, "kind", "enum", Tf("未知的规则类型 %q", "unknown rule kind %q", r.Kind))
		}
		if r.Threshold < 1 && r.Kind != RuleOffHours && r.Kind != RuleNewNetwork {
			bad(i, "threshold", "minimum", T("阈值至少为 1", "the threshold must be at least 1"))
		}
		if d, err := ParseISODuration(r.Window); err != nil || d < time.Second || d > 31*24*time.Hour {
			bad(i, "window", "format", T("时间窗口须为 ISO 8601 时长（如 PT1M），1 秒至 31 天", "the window must be an ISO 8601 duration such as PT1M, from 1 second to 31 days"))
		}
		if !slices.Contains([]string{ActionAlert, ActionReauth, ActionFreeze}, r.Action) {
			bad(i, "action", "enum", T("动作须为 alert、reauth 或 freeze", "the action must be alert, reauth or freeze"))
		}
		if r.Hours != nil && (len(r.Hours) != 2 || r.Hours[0] < 0 || r.Hours[1] > 24 || r.Hours[0] >= r.Hours[1]) {
			bad(i, "hours", "range", T("工作时间须为 [开始, 结束) 整点，0 至 24", "hours must be [from, to) in whole hours between 0 and 24"))
		}
	}
	if len(errs) > 0 {
		return Invalid(errs...)
	}
	return nil
}

// AnomalySettings returns the anomaly rules (administrators).
func (s *Service) AnomalySettings(ctx context.Context, p *Principal) (*AnomalySettings, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "settings.read", "", "", SettingsAnomaly, "not an administrator", err)
	}
	return s.anomalySettings(ctx)
}

func (s *Service) anomalySettings(ctx context.Context) (*AnomalySettings, error) {
	a, _, err := s.anomalySettingsAt(ctx)
	return a, err
}

// anomalySettingsAt is anomalySettings with the version of the doc it
// read (0: there is none, so no rules).
func (s *Service) anomalySettingsAt(ctx context.Context) (*AnomalySettings, int64, error) {
	a, ver, err := findDocAs[AnomalySettings](ctx, s.store, KindSettings, SettingsAnomaly)
	if ErrorCode(err) == ENOTFOUND {
		return &AnomalySettings{Rules: []AlertRule{}}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read anomaly settings: %w", err)
	}
	if a.Rules == nil {
		a.Rules = []AlertRule{}
	}
	return a, ver, nil
}

// SetAnomalySettings replaces the anomaly rules (administrators); audited
// as settings.anomaly. EINVALID with field errors for a bad rule.
func (s *Service) SetAnomalySettings(ctx context.Context, p *Principal, a *AnomalySettings) (*AnomalySettings, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "settings.anomaly", "", "", SettingsAnomaly, "not an administrator", err)
	}
	if a.Rules == nil {
		a.Rules = []AlertRule{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	ev := s.Event(p, "settings.anomaly", "", "", SettingsAnomaly, nil, ResultOK, "")
	ev.Detail = MustJSON(a)
	_, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindSettings, ID: SettingsAnomaly, Value: MustJSON(a), Updated: now},
		ExpectVersion: AnyVersion}}, Audit: []*AuditEvent{ev}})
	if err != nil {
		return nil, fmt.Errorf("set anomaly settings: %w", err)
	}
	return a, nil
}
