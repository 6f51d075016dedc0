package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// alertRules is a Prometheus rule file as deploy/prometheus holds one.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRules checks deploy/prometheus/alerts.yaml: every alert has a
// severity, a summary and a description, and names only metrics that
// README's metrics table lists (TestMetricsMove checks that table against
// a running server's); then, where promtool is installed (Debian's
// prometheus package; .ci/run installs it), the file's syntax and the
// alerts' unit tests in alerts_test.yaml.
func TestAlertRules(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "prometheus")
	b, err := os.ReadFile(filepath.Join(dir, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	known := readmeMetrics(t)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !strings.HasPrefix(r.Alert, "Formwork") || r.Expr == "" {
				t.Errorf("rule %q: want an alert named Formwork… with an expression", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: no summary or description", r.Alert)
			}
			for _, m := range unlisted(r.Expr, known) {
				t.Errorf("%s names %s, which README's metrics table does not list", r.Alert, m)
			}
		}
	}
	if n < 10 {
		t.Errorf("%d alerts, want the dozen the file had", n)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus): the rules' syntax and alerts_test.yaml were not checked")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// formworkMetric is a Formwork metric's name in a PromQL expression.
var formworkMetric = regexp.MustCompile(`\bformwork_[a-z_]+`)

// unlisted are the Formwork metrics expr names that known (README's
// table) does not list, a histogram's _bucket, _count and _sum series
// counting as the histogram.
func unlisted(expr string, known []string) []string {
	var out []string
	for _, m := range formworkMetric.FindAllString(expr, -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
		if !slices.Contains(known, m) && !slices.Contains(known, base) {
			out = append(out, m)
		}
	}
	return out
}

// readmeMetrics are the metric names README's metrics table lists.
func readmeMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(formwork_[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	if len(out) < 10 {
		t.Fatalf("README's metrics table lists %d metrics", len(out))
	}
	return out
}

// TestGrafanaDashboard checks deploy/grafana/formwork.json: panels that
// fit the 24-column grid without overlapping, each with a title and
// queries naming only metrics README's table lists; where promtool is
// installed, every query parses as PromQL (checked as recording rules,
// with Grafana's $__rate_interval and $__range given values).
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "formwork.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type    string                   `json:"type"`
			Title   string                   `json:"title"`
			GridPos struct{ X, Y, W, H int } `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("formwork.json: %v", err)
	}
	known := readmeMetrics(t)
	type cell struct{ x, y int }
	taken := map[cell]string{}
	var exprs []string
	for _, p := range dash.Panels {
		g := p.GridPos
		if p.Title == "" || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q at %+v: want a title and a place within 24 columns", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range unlisted(q.Expr, known) {
				t.Errorf("panel %q names %s, which README's metrics table does not list", p.Title, m)
			}
			exprs = append(exprs, strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h").Replace(q.Expr))
		}
	}
	if dash.UID == "" || len(exprs) < 15 {
		t.Errorf("uid %q, %d queries: want a uid and the dashboard's queries", dash.UID, len(exprs))
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus): the queries' syntax was not checked")
	}
	var out strings.Builder
	out.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&out, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(file, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules (the dashboard's queries): %v\n%s", err, msg)
	}
}
