package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"formwork/engine"
)

// TestMFAEnrolWindowBothPaths: one policy on both login paths for a user
// whose role needs a second factor and who has none. Within
// engine.MFAEnrolWindow of the account's creation (or of an administrator's
// reset) the HTML login leads to enrolment and the API login says to enrol
// on the web; after it, both refuse with "ask an administrator to reset"
// and no session, token or pending login exists; an administrator's reset
// opens the window again.
func TestMFAEnrolWindowBothPaths(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	ctx := context.Background()
	hash, err := engine.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-engine.MFAEnrolWindow - time.Hour)
	late := &engine.User{ID: engine.NewID(created), Email: "late@example.com", Name: "late", Unit: "hq", PasswordHash: hash,
		Roles: map[string][]string{"shop": {"hq_admin"}}, CreatedAt: created, UpdatedAt: created}
	if err := engine.PutUserRecord(ctx, h.store, late); err != nil {
		t.Fatal(err)
	}
	apiLogin := func() (int, string) {
		res := h.do("POST", "/api/v1/auth/login", "", `{"email":"late@example.com","password":"`+testPassword+`"}`, nil)
		return res.Code, res.Body.String()
	}
	htmlLogin := func(t *testing.T) (*http.Response, string, *browser) {
		t.Helper()
		b := newBrowser(t, srv)
		b.lang = "en"
		_, page := b.get("/login")
		resp, body := b.post("/login", url.Values{"_csrf": {csrfOf(t, page)}, "email": {"late@example.com"}, "password": {testPassword}, "next": {"/"}}, nil)
		return resp, body, b
	}
	cookies := func(b *browser) map[string]string {
		u, _ := url.Parse(srv.URL)
		out := map[string]string{}
		for _, ck := range b.c.Jar.Cookies(u) {
			out[ck.Name] = ck.Value
		}
		return out
	}

	t.Run("window closed: both paths refuse and say to ask an administrator", func(t *testing.T) {
		code, body := apiLogin()
		if code != http.StatusUnauthorized || !strings.Contains(body, "mfa_reset_required") || strings.Contains(body, "token") {
			t.Errorf("API login: %d %s", code, body)
		}
		resp, page, b := htmlLogin(t)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("HTML login: %d, want 401", resp.StatusCode)
		}
		mustContain(t, "HTML login", page, "ask an administrator to reset it")
		mustLack(t, "HTML login", page, "mfa-secret", "data:image/png")
		if ck := cookies(b); ck[cookieSession] != "" || ck[cookieMFA] != "" {
			t.Errorf("cookies after a refused login: %v", ck)
		}
		// the enrolment page is not reachable around the password step
		if resp, page := b.get("/login/mfa/enrol"); resp.StatusCode == http.StatusOK && strings.Contains(page, "mfa-secret") {
			t.Errorf("enrolment page without a pending login: %d", resp.StatusCode)
		}
	})
	t.Run("an administrator's reset opens it again on both paths", func(t *testing.T) {
		ab := newBrowser(t, srv)
		tok := ab.login("admin@example.com")
		resp, _ := ab.post("/admin/users/"+late.ID+"/mfa/reset", url.Values{"_csrf": {tok}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", resp.StatusCode)
		}
		code, body := apiLogin()
		if code != http.StatusUnauthorized || !strings.Contains(body, "mfa_enrolment_required") {
			t.Errorf("API login after the reset: %d %s", code, body)
		}
		resp, page, b := htmlLogin(t)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login/mfa/enrol") {
			t.Fatalf("HTML login after the reset: %d %s", resp.StatusCode, page)
		}
		_, page = b.get(resp.Header.Get("Location"))
		mustContain(t, "enrolment after the reset", page, "mfa-secret")
	})
}
