package engine

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine/filter"
)

// pageStore answers every FindRecords with an empty page; the rest of
// Store is not used.
type pageStore struct{ Store }

func (pageStore) FindRecords(context.Context, RecordQuery) (*RecordPage, error) {
	return &RecordPage{}, nil
}

// TestEncryptingStoreRequestVersion: a query that carries the app version
// its request resolved has its form looked up at that version, and one
// that does not asks for the current version (0), which reads the app
// document.
func TestEncryptingStoreRequestVersion(t *testing.T) {
	var asked []int
	forms := func(_ context.Context, app, form string, version int) (*Form, error) {
		asked = append(asked, version)
		return &Form{Key: form}, nil
	}
	s := NewEncryptingStore(pageStore{}, nil, forms)
	flt := filter.Cmp{Field: filter.Field{Key: "level", Type: filter.TypeString}, Op: filter.OpEq, Value: "gold"}
	ctx := context.Background()
	if _, err := s.FindRecords(ctx, RecordQuery{App: "a", Form: "f", Filter: flt, appVersion: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindRecords(ctx, RecordQuery{App: "a", Form: "f", Filter: flt}); err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 0}; !slices.Equal(asked, want) {
		t.Errorf("form versions looked up %v, want %v", asked, want)
	}
}

// auditStore keeps the audit events of every Apply; the rest of Store is
// not used.
type auditStore struct {
	Store
	events []*AuditEvent
}

func (s *auditStore) Apply(_ context.Context, c *Change) (*ChangeResult, error) {
	s.events = append(s.events, c.Audit...)
	return &ChangeResult{Audit: c.Audit}, nil
}

// TestEncryptingStoreAuditVersion: a list event queued with the app version
// its request resolved is scrubbed by the form of that version (here 7
// encrypts the phone, 8 no longer does), looked up without reading the
// app document; one queued without a version asks for the current one.
func TestEncryptingStoreAuditVersion(t *testing.T) {
	var asked []int
	forms := func(_ context.Context, app, form string, version int) (*Form, error) {
		asked = append(asked, version)
		f := &Form{Key: form, Fields: []*Field{{Key: "phone", Type: "text"}}}
		if version != 8 {
			f.Fields[0].Sensitive = "phone"
		}
		return f, nil
	}
	inner := &auditStore{}
	w := NewAuditWriter(NewEncryptingStore(inner, nil, forms), AuditWriterOptions{})
	defer w.Close()
	ctx := context.Background()
	event := func() *AuditEvent {
		return &AuditEvent{Action: "list", App: "a", Form: "f", Detail: listDetail(1, "", "13655557777", "")}
	}
	for _, v := range []int{8, 7, 0} {
		if err := w.startAt(ctx, event(), v)(); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{8, 7, 0}; !slices.Equal(asked, want) {
		t.Errorf("form versions looked up %v, want %v", asked, want)
	}
	var searches []string
	for _, ev := range inner.events {
		var d struct{ Search string }
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, d.Search)
	}
	if want := []string{"13655557777", "[redacted]", "[redacted]"}; !slices.Equal(searches, want) {
		t.Errorf("search terms audited %q, want %q", searches, want)
	}
}

// indexStore keeps the FormIndex of the last EnsureIndexes; the rest of
// Store is not used.
type indexStore struct {
	Store
	ix FormIndex
}

func (s *indexStore) EnsureIndexes(_ context.Context, ix FormIndex) error {
	s.ix = ix
	return nil
}

// TestEncryptingStoreIndexesBlind: a sensitive field is indexed by its
// blind index wherever the FormIndex names it (field, covered, prefix,
// choice), since every equality on it is asked of the blind index.
func TestEncryptingStoreIndexesBlind(t *testing.T) {
	form := &Form{Key: "f", Fields: []*Field{{Key: "phone", Type: "string", Sensitive: "encrypt"}, {Key: "level", Type: "string"}}}
	form.byKey = map[string]*Field{"phone": form.Fields[0], "level": form.Fields[1]}
	inner := &indexStore{}
	s := NewEncryptingStore(inner, nil, func(context.Context, string, string, int) (*Form, error) { return form, nil })
	in := FormIndex{App: "a", Form: "f", Fields: []string{"phone", "level"}, Covered: []string{"phone", "level"},
		Prefixes: [][]string{{"phone"}, {"_unit"}}, Choices: []string{"phone", "level"}}
	if err := s.EnsureIndexes(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	b := blindPrefix + "phone"
	want := FormIndex{App: "a", Form: "f", Fields: []string{b, "level"}, Covered: []string{b, "level"},
		Prefixes: [][]string{{b}, {"_unit"}}, Choices: []string{b, "level"}}
	if d := cmp.Diff(want, inner.ix); d != "" {
		t.Errorf("FormIndex asked of the store (-want +got):\n%s", d)
	}
}
