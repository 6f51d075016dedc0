package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"formwork/engine"
)

// labelsBundle has a list whose first columns are a member, a unit and a
// relation; clerks see the related party's name masked and only their
// own parties.
const labelsBundle = `{
  "formwork": "1",
  "app": {"key": "deals", "name": {"zh": "交易", "en": "Deals"}, "version": "1.0.0"},
  "roles": [
    {"key": "clerk", "name": {"zh": "文员", "en": "Clerk"}, "permissions": {
      "party": {"operations": ["create", "read"], "scope": "own", "fields": {"*": "read", "name": "masked"}},
      "deal":  {"operations": ["create", "read"], "scope": "all", "fields": {"*": "edit"}}}}
  ],
  "forms": [
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "party", "type": "object",
     "x-title": {"zh": "客户", "en": "Party"},
     "properties": {"name": {"type": "string", "x-widget": "text", "x-sensitive": "name", "x-label": {"zh": "姓名", "en": "Name"}}}},
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "deal", "type": "object",
     "x-title": {"zh": "交易", "en": "Deal"},
     "properties": {
       "title": {"type": "string", "x-widget": "text", "x-label": {"zh": "标题", "en": "Title"}},
       "rep":   {"type": "string", "x-widget": "member", "x-label": {"zh": "负责人", "en": "Rep"}},
       "store": {"type": "string", "x-widget": "unit", "x-label": {"zh": "门店", "en": "Store"}},
       "party": {"type": "string", "x-widget": "relation", "x-relation": {"form": "party", "display": "name"}, "x-label": {"zh": "客户", "en": "Party"}}}}
  ]
}`

// TestListShowsNamesNotIDs: a list's member, unit and relation columns
// show the user's name, the unit's name and the related record's display
// field as the viewer may see it there — masked where masked, the id
// where the related record is outside the viewer's scope — and the ids
// themselves never appear as cell text.
func TestListShowsNamesNotIDs(t *testing.T) {
	h := newHarness(t, testConfig())
	ctx := context.Background()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(ctx, admin, []byte(labelsBundle), engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{"deals": {"clerk"}}
	for k, v := range h.users["staff"].Roles {
		roles[k] = v
	}
	if _, err := h.org.SetRoles(ctx, engine.AuditActor{ID: engine.SystemActor}, h.users["staff"].ID, roles); err != nil {
		t.Fatal(err)
	}
	staffU, _ := h.org.FindUserByID(ctx, h.users["staff"].ID)
	staff := &engine.Principal{User: staffU, IP: "127.0.0.1"}
	mine, err := h.svc.CreateRecord(ctx, staff, "deals", "party", map[string]any{"name": "欧阳娜娜"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.svc.CreateRecord(ctx, admin, "deals", "party", map[string]any{"name": "司马光明"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // several rows share the same values
		for _, party := range []string{mine.ID, theirs.ID} {
			if _, err := h.svc.CreateRecord(ctx, staff, "deals", "deal", map[string]any{
				"title": "交易" + string(rune('A'+i)), "rep": h.users["manager"].ID, "store": "store1", "party": party}); err != nil {
				t.Fatal(err)
			}
		}
	}

	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("staff@example.com")
	resp, page := b.get("/apps/deals/forms/deal")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	mustContain(t, "clerk's list", page, "<td>manager</td>", "<td>一号店</td>", "<td>欧***</td>", "<td>（无权查看的关联记录）</td>")
	mustLack(t, "clerk's list", page, "<td>"+h.users["manager"].ID+"</td>", "<td>store1</td>", "<td>"+mine.ID+"</td>", "<td>"+theirs.ID+"</td>", "欧阳娜娜", "司马光明")

	ab := newBrowser(t, srv)
	ab.lang = "zh-CN"
	ab.login("admin@example.com")
	_, page = ab.get("/apps/deals/forms/deal")
	mustContain(t, "admin's list", page, "<td>欧阳娜娜</td>", "<td>司马光明</td>", "<td>manager</td>", "<td>一号店</td>")
}
