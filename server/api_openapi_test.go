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

// TestOpenAPIServedSpec reads the spec as a client does, from
// /api/v1/openapi.json: every $ref resolves, a record PATCH is documented
// as a merge patch where null removes a value, and an app import's 201
// carries the sample-data job.
func TestOpenAPIServedSpec(t *testing.T) {
	h := newHarness(t, testConfig())
	rec := h.do("GET", "/api/v1/openapi.json", "", "", nil)
	if rec.Code != 200 {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// resolve follows a JSON pointer ("#/components/schemas/X") in doc.
	resolve := func(ref string) any {
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[part]
		}
		return cur
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && resolve(ref) == nil {
				t.Errorf("unresolved $ref %q", ref)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	get := func(ref string) string {
		b, _ := json.Marshal(resolve(ref))
		return string(b)
	}
	paths, _ := doc["paths"].(map[string]any)
	op, _ := paths["/api/v1/apps/{app}/forms/{form}/records/{id}"].(map[string]any)
	b, _ := json.Marshal(op["patch"])
	patch := string(b)
	mustContain(t, "PATCH record", patch, "merge patch", "null is removed", `"#/components/schemas/PatchBody"`)
	mustContain(t, "PatchBody", get("#/components/schemas/PatchBody"), "null removes")
	mustContain(t, "AppVersion", get("#/components/schemas/AppVersion"), `"job"`, "/api/v1/import-jobs/{job}")
}
