package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var paramRE = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIMatchesRoutes: every API route is documented, and every
// documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := New(Deps{Config: testConfig(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var routes []string
	for _, r := range e.Routes() {
		if !(strings.HasPrefix(r.Path, "/api/") || r.Path == "/healthz" || r.Path == "/readyz") {
			continue
		}
		if strings.HasSuffix(r.Path, "/*") || strings.HasPrefix(r.Method, "echo_route_") {
			continue // echo's not-found catch-alls of groups with middleware
		}
		routes = append(routes, r.Method+" "+paramRE.ReplaceAllString(r.Path, "{$1}"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if diff := cmp.Diff(documented, routes); diff != "" {
		t.Errorf("documented vs registered routes (-documented +registered):\n%s", diff)
	}
}
