package server

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

var updateRoutes = flag.Bool("update-routes", false, "rewrite testdata/routes.txt from the registered routes")

// TestRoutes: no route disappears, moves to another handler or changes its
// guard. Each line of testdata/routes.txt is a method, a path, the handler
// and the guard a request meets, found by asking: an anonymous GET to a
// page is sent to the login page ("page"), an anonymous request is refused
// with 401 ("login"), and a user who is not an administrator is stopped by
// requireAdmin, which audits "admin.<method>" on the route's path ("+admin").
// Echo keeps a route's middleware inside a closure, so the guard is
// observed, not read: a change that answers the same goes unseen, such as
// requirePageUser for requireUser on a POST, or a route losing requireUser
// when its engine call refuses an anonymous caller with the same 401.
// After a deliberate change: go test -run TestRoutes -update-routes.
func TestRoutes(t *testing.T) {
	h := newHarness(t, testConfig())
	var got []string
	for _, r := range h.e.Routes() {
		got = append(got, r.Method+" "+r.Path+" "+handlerShortName(r.Name)+" "+h.guardOf(r.Method, r.Path))
	}
	sort.Strings(got)
	golden := filepath.Join("testdata", "routes.txt")
	if *updateRoutes {
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

var closureName = regexp.MustCompile(`\.func\d+$`)

// handlerShortName drops the package and receiver from a handler's name;
// a closure's name says only where it is written, so it is "(closure)".
func handlerShortName(name string) string {
	if closureName.MatchString(name) {
		return "(closure)"
	}
	name = strings.TrimPrefix(name, "formwork/server.(*server).")
	return strings.TrimSuffix(name, "-fm")
}

var routeParams = regexp.MustCompile(`:[a-z_]+|\*`)

// guardOf sends the route its probes (see TestRoutes) and names what
// stopped them.
func (h *harness) guardOf(method, path string) string {
	h.tb.Helper()
	url := routeParams.ReplaceAllString(path, "x")
	anon := h.do(method, url, "", "", map[string]string{"Accept-Language": "en"})
	var guard string
	switch {
	case method == "GET" && anon.Code == 303 && strings.HasPrefix(anon.Header().Get("Location"), "/login?next="):
		guard = "page"
	case anon.Code == 401 && strings.Contains(anon.Body.String(), "please log in"):
		guard = "login"
	default:
		return "-"
	}
	// A fresh token each time: a logout route revokes the one it is given.
	ctx := context.Background()
	secret, _, err := h.org.CreateToken(ctx, engine.AuditActor{ID: engine.SystemActor}, h.users["nobody"].ID, "probe", nil)
	if err != nil {
		h.tb.Fatal(err)
	}
	h.do(method, url, "", "", map[string]string{"Accept-Language": "en", "Authorization": "Bearer " + secret})
	page, err := h.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "admin." + strings.ToLower(method), Object: path, Limit: 1})
	if err != nil {
		h.tb.Fatal(err)
	}
	if len(page.Items) > 0 {
		guard += "+admin"
	}
	return guard
}
