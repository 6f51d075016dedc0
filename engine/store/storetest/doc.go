package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"formwork/engine"

	"github.com/google/go-cmp/cmp"
)

func putDoc(s engine.Store, d engine.Doc, expect int64) (engine.Doc, error) {
	res, err := s.Apply(context.Background(), &engine.Change{Docs: []engine.DocWrite{{Doc: d, ExpectVersion: expect}}})
	if err != nil {
		return engine.Doc{}, err
	}
	return res.Docs[0], nil
}

func docIDs(tb testing.TB, s engine.Store, q engine.DocQuery) []string {
	tb.Helper()
	ds, err := s.FindDocs(context.Background(), q)
	if err != nil {
		tb.Fatalf("FindDocs(%+v): %v", q, err)
	}
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func jsonEqual(tb testing.TB, want, got json.RawMessage) {
	tb.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("want JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got JSON %q: %v", got, err)
	}
	if d := cmp.Diff(w, g); d != "" {
		tb.Errorf("doc value (-want +got):\n%s", d)
	}
}

func testDocs(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	u1 := engine.Doc{Kind: "user", ID: "u1", Tags: []string{"unit:hq", "role:admin"}, Unique: []string{"email:a@x.cn"}, Value: json.RawMessage(`{"name":"张三","n":1}`)}
	got, err := putDoc(s, u1, 0)
	if err != nil {
		t.Fatalf("put new doc: %v", err)
	}
	if got.Version != 1 {
		t.Errorf("new doc version %d, want 1", got.Version)
	}
	_, err = putDoc(s, u1, 0)
	wantCode(t, err, engine.ECONFLICT, "put with ExpectVersion 0 of an existing doc")

	d, err := s.FindDoc(ctx, "user", "u1")
	if err != nil {
		t.Fatalf("FindDoc: %v", err)
	}
	if d.Kind != "user" || d.ID != "u1" || d.Version != 1 || !cmp.Equal(d.Tags, u1.Tags) || !cmp.Equal(d.Unique, u1.Unique) {
		t.Errorf("FindDoc = %+v, want %+v at version 1", d, u1)
	}
	jsonEqual(t, u1.Value, d.Value)
	_, err = s.FindDoc(ctx, "user", "nope")
	wantCode(t, err, engine.ENOTFOUND, "FindDoc of a missing doc")

	u1.Value = json.RawMessage(`{"name":"张三","n":2}`)
	if got, err = putDoc(s, u1, 1); err != nil || got.Version != 2 {
		t.Fatalf("update doc at version 1 = %+v, %v; want version 2", got, err)
	}
	_, err = putDoc(s, u1, 1)
	wantCode(t, err, engine.ECONFLICT, "update doc with a stale version")
	if got, err = putDoc(s, u1, engine.AnyVersion); err != nil || got.Version != 3 {
		t.Fatalf("upsert doc = %+v, %v; want version 3", got, err)
	}
	u9 := engine.Doc{Kind: "user", ID: "u9", Value: json.RawMessage(`1`)}
	if got, err = putDoc(s, u9, engine.AnyVersion); err != nil || got.Version != 1 {
		t.Fatalf("upsert of a new doc = %+v, %v; want version 1", got, err)
	}

	// Unique tags are unique within a kind, not across kinds.
	u2 := engine.Doc{Kind: "user", ID: "u2", Tags: []string{"unit:hq"}, Unique: []string{"email:a@x.cn"}, Value: json.RawMessage(`{}`)}
	_, err = putDoc(s, u2, 0)
	wantCode(t, err, engine.ECONFLICT, "put of a doc with another doc's unique tag")
	other := engine.Doc{Kind: "token", ID: "t1", Unique: []string{"email:a@x.cn"}, Value: json.RawMessage(`{}`)}
	if _, err := putDoc(s, other, 0); err != nil {
		t.Fatalf("same unique tag in another kind: %v", err)
	}
	u2.Unique = []string{"email:b@x.cn"}
	if _, err := putDoc(s, u2, 0); err != nil {
		t.Fatalf("put u2: %v", err)
	}
	// Changing u1's unique tag frees the old one.
	u1.Unique = []string{"email:c@x.cn"}
	if _, err := putDoc(s, u1, 3); err != nil {
		t.Fatalf("change u1's unique tag: %v", err)
	}
	u3 := engine.Doc{Kind: "user", ID: "u3", Unique: []string{"email:a@x.cn"}, Value: json.RawMessage(`{}`)}
	if _, err := putDoc(s, u3, 0); err != nil {
		t.Fatalf("take a freed unique tag: %v", err)
	}

	for _, tc := range []struct {
		q     engine.DocQuery
		want  []string
		count int64 // CountDocs ignores Limit
	}{
		{engine.DocQuery{Kind: "user"}, []string{"u1", "u2", "u3", "u9"}, 4},
		{engine.DocQuery{Kind: "user", Tag: "unit:hq"}, []string{"u1", "u2"}, 2},
		{engine.DocQuery{Kind: "user", Tag: "role:admin"}, []string{"u1"}, 1},
		{engine.DocQuery{Kind: "user", Tag: "email:b@x.cn"}, []string{"u2"}, 1},
		{engine.DocQuery{Kind: "user", Tag: "email:a@x.cn"}, []string{"u3"}, 1},
		{engine.DocQuery{Kind: "user", Tag: "email:c@x.cn", After: "u0"}, []string{"u1"}, 1},
		{engine.DocQuery{Kind: "user", Tag: "unit:hq", After: "u1"}, []string{"u2"}, 1},
		{engine.DocQuery{Kind: "user", After: "u1", Limit: 2}, []string{"u2", "u3"}, 3},
		{engine.DocQuery{Kind: "token"}, []string{"t1"}, 1},
		{engine.DocQuery{Kind: "token", Tag: "unit:hq"}, []string{}, 0},
		{engine.DocQuery{Kind: "nothing"}, []string{}, 0},
	} {
		if d := cmp.Diff(tc.want, docIDs(t, s, tc.q)); d != "" {
			t.Errorf("FindDocs(%+v) (-want +got):\n%s", tc.q, d)
		}
		if n, err := s.CountDocs(ctx, tc.q); err != nil || n != tc.count {
			t.Errorf("CountDocs(%+v) = %d, %v; want %d", tc.q, n, err, tc.count)
		}
	}

	// Delete checks the version and frees the doc's tags.
	_, err = s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u2"}, ExpectVersion: 5, Delete: true}}})
	wantCode(t, err, engine.ECONFLICT, "delete doc with a stale version")
	mustApply(t, s, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u2"}, ExpectVersion: 1, Delete: true}}})
	_, err = s.FindDoc(ctx, "user", "u2")
	wantCode(t, err, engine.ENOTFOUND, "FindDoc of a deleted doc")
	if d := cmp.Diff([]string{"u1"}, docIDs(t, s, engine.DocQuery{Kind: "user", Tag: "unit:hq"})); d != "" {
		t.Errorf("tag lookup after delete (-want +got):\n%s", d)
	}
	u4 := engine.Doc{Kind: "user", ID: "u4", Unique: []string{"email:b@x.cn"}, Value: json.RawMessage(`{}`)}
	if _, err := putDoc(s, u4, 0); err != nil {
		t.Fatalf("take the unique tag of a deleted doc: %v", err)
	}
}

// testDocVersions: the versions of several docs in one read, in the order
// asked, 0 for a missing doc, following each put and delete; the same ref
// twice gets its version twice, and a ref of another kind with the same id
// is another doc.
func testDocVersions(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	versions := func(refs ...engine.DocRef) []int64 {
		t.Helper()
		got, err := s.DocVersions(ctx, refs)
		if err != nil {
			t.Fatalf("DocVersions(%v): %v", refs, err)
		}
		return got
	}
	if got := versions(); len(got) != 0 {
		t.Errorf("no refs: %v", got)
	}
	tok := engine.Doc{Kind: "token", ID: "t1", Tags: []string{"user:u1"}, Value: json.RawMessage(`{"user_id":"u1"}`)}
	usr := engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{"name":"张三"}`)}
	for _, d := range []engine.Doc{tok, usr, usr} {
		if _, err := putDoc(s, d, engine.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	refT, refU := engine.DocRef{Kind: "token", ID: "t1"}, engine.DocRef{Kind: "user", ID: "u1"}
	missing, otherKind := engine.DocRef{Kind: "session", ID: "t1"}, engine.DocRef{Kind: "token", ID: "u1"}
	if d := cmp.Diff([]int64{1, 2, 0, 0, 2}, versions(refT, refU, missing, otherKind, refU)); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
	if _, err := s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "token", ID: "t1"}, ExpectVersion: engine.AnyVersion, Delete: true}}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{0, 2}, versions(refT, refU)); d != "" {
		t.Errorf("after deleting the token (-want +got):\n%s", d)
	}
}
