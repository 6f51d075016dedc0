package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"formwork/engine/filter"
)

// FormLookup returns a form of a published app version (0: the current
// one), or nil when the app or form does not exist.
type FormLookup func(ctx context.Context, app, form string, version int) (*Form, error)

// blindPrefix starts the data key that holds a sensitive field's blind
// index ("BI_phone"). Form field keys are lower case, so it never collides
// with one, and it does not start with "_", which the stores reserve for
// system fields.
const blindPrefix = "BI_"

// EncryptingStore is a Store decorator that keeps x-sensitive field values
// encrypted at rest: every record write (and so every revision the store
// builds from it) holds ciphertext only, every read gives plaintext back,
// and equality filters on a sensitive field are rewritten to its blind
// index. Other comparisons, regular expressions and sorts on a sensitive
// field are refused with EINVALID: the store cannot answer them correctly.
// Docs, audit and outbox pass through, except that list audit details are
// scrubbed of sensitive filter values.
type EncryptingStore struct {
	Store
	keys  *Keyring
	forms FormLookup
}

// NewEncryptingStore wraps inner; forms resolves the fields of a form
// version (see StoreForms).
func NewEncryptingStore(inner Store, keys *Keyring, forms FormLookup) *EncryptingStore {
	return &EncryptingStore{Store: inner, keys: keys, forms: forms}
}

// Inner returns the wrapped store (tests and the re-encryption job read ciphertext through it).
func (s *EncryptingStore) Inner() Store { return s.Store }

// Keyring returns the store's keyring.
func (s *EncryptingStore) Keyring() *Keyring { return s.keys }

// StoreForms returns a FormLookup that reads published bundles from st,
// caching each loaded version.
func StoreForms(st Store) FormLookup {
	var mu sync.Mutex
	cache := map[string]*Bundle{}
	return func(ctx context.Context, app, form string, version int) (*Form, error) {
		if version == 0 {
			d, err := st.FindDoc(ctx, KindApp, app)
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					return nil, nil
				}
				return nil, err
			}
			var a appDoc
			if err := json.Unmarshal(d.Value, &a); err != nil {
				return nil, fmt.Errorf("app %s: %w", app, err)
			}
			version = a.Version
		}
		id := appVersionID(app, version)
		mu.Lock()
		b := cache[id]
		mu.Unlock()
		if b == nil {
			d, err := st.FindDoc(ctx, KindAppVersion, id)
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					return nil, nil
				}
				return nil, err
			}
			var vd appVersionDoc
			if err := json.Unmarshal(d.Value, &vd); err != nil {
				return nil, fmt.Errorf("app version %s: %w", id, err)
			}
			if b, err = LoadBundle([]byte(vd.Bundle)); err != nil {
				return nil, fmt.Errorf("app version %s: %w", id, err)
			}
			mu.Lock()
			cache[id] = b
			mu.Unlock()
		}
		return b.Form(form), nil
	}
}

// hasSensitive reports whether a form has any sensitive field, at any depth.
func hasSensitive(f *Form) bool {
	if f == nil {
		return false
	}
	for _, fd := range f.Fields {
		if fd.Sensitive != "" {
			return true
		}
		for _, sub := range fd.Fields {
			if sub.Sensitive != "" {
				return true
			}
		}
	}
	return false
}

// encryptData returns a copy of data with the form's sensitive values
// sealed and blind indexes added. prev is the stored (ciphertext) data of
// the record being changed: a value whose plaintext did not change keeps
// its ciphertext, so revisions show no spurious change.
func (s *EncryptingStore) encryptData(ctx context.Context, r *Record, f *Form, prev map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(r.Data)+2)
	for k, v := range r.Data {
		if !strings.HasPrefix(k, blindPrefix) {
			out[k] = v
		}
	}
	current, err := s.keys.CurrentKeyID(ctx, r.App)
	if err != nil {
		return nil, err
	}
	seal := func(aad string, v any, old any) (any, error) {
		if v == nil || IsCiphertext(v) {
			return v, nil
		}
		if IsCiphertext(old) && cipherKeyID(old.(string)) == current {
			if pv, err := s.keys.Decrypt(ctx, r.App, aad, old.(string)); err == nil && reflect.DeepEqual(normJSON(pv), normJSON(v)) {
				return old, nil
			}
		}
		return s.keys.Encrypt(ctx, r.App, aad, v)
	}
	for _, fd := range f.Fields {
		v, ok := out[fd.Key]
		if !ok {
			continue
		}
		if fd.Sensitive != "" {
			ct, err := seal(r.Form+"/"+fd.Key, v, prev[fd.Key])
			if err != nil {
				return nil, err
			}
			out[fd.Key] = ct
			if v != nil && !IsCiphertext(v) {
				bi, err := s.keys.BlindIndex(ctx, r.App, r.Form, fd.Key, v)
				if err != nil {
					return nil, err
				}
				out[blindPrefix+fd.Key] = bi
			} else if old, ok := prev[blindPrefix+fd.Key]; ok && v != nil {
				out[blindPrefix+fd.Key] = old
			}
			continue
		}
		// subforms and objects: their sensitive members are sealed one by one
		var subs []*Field
		for _, sub := range fd.Fields {
			if sub.Sensitive != "" {
				subs = append(subs, sub)
			}
		}
		if len(subs) == 0 {
			continue
		}
		sealObj := func(m map[string]any, oldM map[string]any) (map[string]any, error) {
			nm := make(map[string]any, len(m))
			for kk, vv := range m {
				nm[kk] = vv
			}
			for _, sub := range subs {
				if vv, ok := nm[sub.Key]; ok {
					ct, err := seal(r.Form+"/"+fd.Key+"/"+sub.Key, vv, oldM[sub.Key])
					if err != nil {
						return nil, err
					}
					nm[sub.Key] = ct
				}
			}
			return nm, nil
		}
		switch x := v.(type) {
		case []any:
			oldItems, _ := prev[fd.Key].([]any)
			items := make([]any, len(x))
			for i, it := range x {
				m, ok := it.(map[string]any)
				if !ok {
					items[i] = it
					continue
				}
				var oldM map[string]any
				if i < len(oldItems) {
					oldM, _ = oldItems[i].(map[string]any)
				}
				nm, err := sealObj(m, oldM)
				if err != nil {
					return nil, err
				}
				items[i] = nm
			}
			out[fd.Key] = items
		case map[string]any:
			oldM, _ := prev[fd.Key].(map[string]any)
			nm, err := sealObj(x, oldM)
			if err != nil {
				return nil, err
			}
			out[fd.Key] = nm
		}
	}
	return out, nil
}

// decryptValue opens every ciphertext in a stored value (top level, or one
// level down in objects and arrays of objects); path is the field key.
func (s *EncryptingStore) decryptValue(ctx context.Context, app, form, path string, v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !IsCiphertext(x) {
			return v, nil
		}
		return s.keys.Decrypt(ctx, app, form+"/"+path, x)
	case map[string]any:
		var out map[string]any
		for k, vv := range x {
			if IsCiphertext(vv) {
				if out == nil {
					out = make(map[string]any, len(x))
					for k2, v2 := range x {
						out[k2] = v2
					}
				}
				pv, err := s.keys.Decrypt(ctx, app, form+"/"+path+"/"+k, vv.(string))
				if err != nil {
					return nil, err
				}
				out[k] = pv
			}
		}
		if out == nil {
			return v, nil
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = it
			if m, ok := it.(map[string]any); ok {
				nv, err := s.decryptValue(ctx, app, form, path, m)
				if err != nil {
					return nil, err
				}
				out[i] = nv
			}
		}
		return out, nil
	}
	return v, nil
}

// decryptData returns data with every ciphertext opened and blind indexes dropped.
func (s *EncryptingStore) decryptData(ctx context.Context, app, form string, data map[string]any) (map[string]any, error) {
	if data == nil {
		return nil, nil
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		if strings.HasPrefix(k, blindPrefix) {
			continue
		}
		pv, err := s.decryptValue(ctx, app, form, k, v)
		if err != nil {
			return nil, fmt.Errorf("record field %s: %w", k, err)
		}
		out[k] = pv
	}
	return out, nil
}

// sealed reports whether data holds a ciphertext or a blind index, where
// encryptData puts them (top level, or one level down in objects and
// arrays of objects): data without any is read as it is stored.
func sealed(data map[string]any) bool {
	for k, v := range data {
		if strings.HasPrefix(k, blindPrefix) {
			return true
		}
		switch x := v.(type) {
		case string:
			if IsCiphertext(x) {
				return true
			}
		case map[string]any:
			if sealedMembers(x) {
				return true
			}
		case []any:
			for _, it := range x {
				if m, ok := it.(map[string]any); ok && sealedMembers(m) {
					return true
				}
			}
		}
	}
	return false
}

func sealedMembers(m map[string]any) bool {
	for _, v := range m {
		if IsCiphertext(v) {
			return true
		}
	}
	return false
}

func (s *EncryptingStore) decryptRecord(ctx context.Context, r *Record) (*Record, error) {
	if r == nil || !sealed(r.Data) {
		return r, nil
	}
	d, err := s.decryptData(ctx, r.App, r.Form, r.Data)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	c := *r
	c.Data = d
	return &c, nil
}

// Apply encrypts the sensitive values of every record write, scrubs list
// audit details, writes, and returns the records decrypted.
func (s *EncryptingStore) Apply(ctx context.Context, c *Change) (*ChangeResult, error) {
	if c == nil {
		return s.Store.Apply(ctx, c)
	}
	nc := *c
	nc.Records = make([]RecordWrite, len(c.Records))
	for i, w := range c.Records {
		nc.Records[i] = w
		if w.Record == nil || w.Record.Data == nil || w.Op == WritePurge || w.Op == WriteDelete {
			continue
		}
		f, err := s.forms(ctx, w.Record.App, w.Record.Form, w.Record.FormVersion)
		if err != nil {
			return nil, fmt.Errorf("encrypt record %s: form: %w", w.Record.ID, err)
		}
		if f == nil {
			if f, err = s.forms(ctx, w.Record.App, w.Record.Form, 0); err != nil {
				return nil, fmt.Errorf("encrypt record %s: form: %w", w.Record.ID, err)
			}
		}
		if !hasSensitive(f) {
			continue
		}
		var prev map[string]any
		if w.Op != WriteCreate {
			if old, err := s.Store.FindRecordByID(ctx, w.Record.App, w.Record.Form, w.Record.ID, true); err == nil && old.Version == w.ExpectVersion {
				prev = old.Data
			}
		}
		data, err := s.encryptData(ctx, w.Record, f, prev)
		if err != nil {
			return nil, fmt.Errorf("encrypt record %s: %w", w.Record.ID, err)
		}
		r := *w.Record
		r.Data = data
		nc.Records[i].Record = &r
	}
	if len(c.Audit) > 0 {
		nc.Audit = make([]*AuditEvent, len(c.Audit))
		for i, ev := range c.Audit {
			v := 0
			if i < len(c.auditVersions) {
				v = c.auditVersions[i]
			}
			nc.Audit[i] = s.scrubAudit(ctx, ev, v)
		}
	}
	res, err := s.Store.Apply(ctx, &nc)
	if err != nil {
		return nil, err
	}
	for i, r := range res.Records {
		if res.Records[i], err = s.decryptRecord(ctx, r); err != nil {
			return nil, err
		}
	}
	// the caller's events get the chain fields the store assigned
	for i, ev := range c.Audit {
		if i < len(nc.Audit) && nc.Audit[i] != ev {
			ev.Seq, ev.PrevHash, ev.Hash, ev.Time = nc.Audit[i].Seq, nc.Audit[i].PrevHash, nc.Audit[i].Hash, nc.Audit[i].Time
			ev.Detail = nc.Audit[i].Detail
		}
	}
	return res, nil
}

// scrubAudit replaces, in a list event's detail, the values a filter
// compares sensitive fields with by their blind indexes, and drops a
// search term on a form with sensitive fields: the audit log must not
// become a copy of the data in clear. version is the app's current version
// as the event's request resolved it (0: not known): the form of a known
// version comes from the cache of compiled versions, with no store read,
// and one without sensitive fields leaves the detail as it is.
func (s *EncryptingStore) scrubAudit(ctx context.Context, ev *AuditEvent, version int) *AuditEvent {
	if ev == nil || len(ev.Detail) == 0 || ev.App == "" || ev.Form == "" {
		return ev
	}
	var f *Form
	if version != 0 {
		var err error
		if f, err = s.forms(ctx, ev.App, ev.Form, version); err == nil && f != nil && !hasSensitive(f) {
			return ev
		}
	}
	var d map[string]any
	if json.Unmarshal(ev.Detail, &d) != nil {
		return ev
	}
	fs, _ := d["filter"].(string)
	search, _ := d["search"].(string)
	if fs == "" && search == "" {
		return ev
	}
	if f == nil {
		var err error
		if f, err = s.forms(ctx, ev.App, ev.Form, 0); err != nil {
			return ev
		}
	}
	if !hasSensitive(f) {
		return ev
	}
	if search != "" {
		d["search"] = "[redacted]"
	}
	if fs != "" {
		var raw any
		if json.Unmarshal([]byte(fs), &raw) == nil {
			d["filter"] = string(MustJSON(s.scrubFilterJSON(ctx, ev.App, f, "", raw)))
		} else {
			d["filter"] = "[redacted]"
		}
	}
	c := *ev
	c.Detail = MustJSON(d)
	return &c
}

// scrubFilterJSON walks a raw filter document and replaces every value
// under a sensitive field key by "bi:<blind index>".
func (s *EncryptingStore) scrubFilterJSON(ctx context.Context, app string, f *Form, field string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, vv := range x {
			fk := field
			if !strings.HasPrefix(k, "$") {
				fk = k
			}
			out[k] = s.scrubFilterJSON(ctx, app, f, fk, vv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = s.scrubFilterJSON(ctx, app, f, field, vv)
		}
		return out
	default:
		if fd := f.Field(field); fd != nil && fd.Sensitive != "" && v != nil {
			bi, err := s.keys.BlindIndex(ctx, app, f.Key, field, v)
			if err != nil {
				return "[redacted]"
			}
			return "bi:" + bi
		}
		return v
	}
}

// FindRecordByID decrypts what the inner store returns.
func (s *EncryptingStore) FindRecordByID(ctx context.Context, app, form, id string, deleted bool) (*Record, error) {
	r, err := s.Store.FindRecordByID(ctx, app, form, id, deleted)
	if err != nil {
		return nil, err
	}
	return s.decryptRecord(ctx, r)
}

// rewriteQuery turns equality on sensitive fields into blind-index
// equality and refuses what encryption makes unanswerable. Raw data
// (RecordQuery.RawData) is asked of the store only for a form without
// fields encrypted at rest: the others' records are decrypted from their
// data decoded by the store, not from its text.
func (s *EncryptingStore) rewriteQuery(ctx context.Context, q RecordQuery) (RecordQuery, error) {
	if q.Filter == nil && len(q.Sort) == 0 && !q.RawData {
		return q, nil
	}
	f, err := s.forms(ctx, q.App, q.Form, q.appVersion)
	if err != nil {
		return q, err
	}
	if f == nil {
		q.RawData = false
	}
	if !hasSensitive(f) {
		return q, nil
	}
	q.RawData = false
	for _, k := range q.Sort {
		if fd := f.Field(k.Field); fd != nil && fd.Sensitive != "" {
			return q, Invalid(FieldError{Field: "/sort", Code: "encrypted",
				Message: Tf("字段 %s 加密存储，不能排序", "field %s is encrypted at rest and cannot be sorted on", k.Field)})
		}
	}
	if q.Filter != nil {
		e, err := s.rewriteExpr(ctx, q.App, f, q.Filter)
		if err != nil {
			return q, err
		}
		q.Filter = e
	}
	return q, nil
}

func encryptedFilterError(key string) error {
	return Invalid(FieldError{Field: "/filter/" + key, Code: "encrypted",
		Message: Tf("字段 %s 加密存储，只能按完整值精确查找", "field %s is encrypted at rest: it can only be matched by its exact value", key)})
}

func (s *EncryptingStore) rewriteExpr(ctx context.Context, app string, f *Form, e filter.Expr) (filter.Expr, error) {
	sensitive := func(fl filter.Field) bool {
		if fl.System || strings.HasPrefix(fl.Key, "_") {
			return false
		}
		fd := f.Field(fl.Key)
		return fd != nil && fd.Sensitive != ""
	}
	bi := func(key string, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		return s.keys.BlindIndex(ctx, app, f.Key, key, v)
	}
	switch x := e.(type) {
	case filter.And:
		items := make([]filter.Expr, len(x.Items))
		for i, it := range x.Items {
			ne, err := s.rewriteExpr(ctx, app, f, it)
			if err != nil {
				return nil, err
			}
			items[i] = ne
		}
		return filter.And{Items: items}, nil
	case filter.Or:
		items := make([]filter.Expr, len(x.Items))
		for i, it := range x.Items {
			ne, err := s.rewriteExpr(ctx, app, f, it)
			if err != nil {
				return nil, err
			}
			items[i] = ne
		}
		return filter.Or{Items: items}, nil
	case filter.Not:
		ne, err := s.rewriteExpr(ctx, app, f, x.X)
		if err != nil {
			return nil, err
		}
		return filter.Not{X: ne}, nil
	case filter.Cmp:
		if !sensitive(x.Field) {
			return x, nil
		}
		switch x.Op {
		case filter.OpEq, filter.OpNe:
			if x.Value == nil {
				return x, nil // presence is not secret: the ciphertext is there or not
			}
			v, err := bi(x.Field.Key, x.Value)
			if err != nil {
				return nil, err
			}
			return filter.Cmp{Field: filter.Field{Key: blindPrefix + x.Field.Key, Type: filter.TypeString}, Op: x.Op, Value: v}, nil
		case filter.OpIn, filter.OpNin:
			vals, _ := x.Value.([]any)
			out := make([]any, len(vals))
			for i, v := range vals {
				b, err := bi(x.Field.Key, v)
				if err != nil {
					return nil, err
				}
				out[i] = b
			}
			return filter.Cmp{Field: filter.Field{Key: blindPrefix + x.Field.Key, Type: filter.TypeString}, Op: x.Op, Value: out}, nil
		}
		return nil, encryptedFilterError(x.Field.Key)
	case filter.Regex:
		if sensitive(x.Field) {
			return nil, encryptedFilterError(x.Field.Key)
		}
	case filter.Text:
		for _, fl := range x.Fields {
			if sensitive(fl) { // never indexed: a search on it would silently find nothing
				return nil, encryptedFilterError(fl.Key)
			}
		}
	}
	return e, nil
}

// FindRecords rewrites the query, then decrypts the page.
func (s *EncryptingStore) FindRecords(ctx context.Context, q RecordQuery) (*RecordPage, error) {
	q, err := s.rewriteQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	page, err := s.Store.FindRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &RecordPage{Items: make([]*Record, len(page.Items)), NextCursor: page.NextCursor}
	for i, r := range page.Items {
		if r.RawData != "" {
			if !strings.Contains(r.RawData, blindPrefix) && !strings.Contains(r.RawData, cipherPrefix) {
				out.Items[i] = r // nothing in it was encrypted (a string holding either is decoded to make sure)
				continue
			}
			// a value encrypted under an earlier version of the form
			c := *r
			if c.Data, err = decodeRawData(r); err != nil {
				return nil, err
			}
			c.RawData = ""
			r = &c
		}
		if out.Items[i], err = s.decryptRecord(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountRecords rewrites the query like FindRecords.
func (s *EncryptingStore) CountRecords(ctx context.Context, q RecordQuery) (int64, error) {
	q, err := s.rewriteQuery(ctx, q)
	if err != nil {
		return 0, err
	}
	return s.Store.CountRecords(ctx, q)
}

// FindRevisions decrypts snapshots and changes; a change that only
// re-encrypted a value (same plaintext) is dropped.
func (s *EncryptingStore) FindRevisions(ctx context.Context, app, form, id string) ([]*Revision, error) {
	revs, err := s.Store.FindRevisions(ctx, app, form, id)
	if err != nil {
		return nil, err
	}
	out := make([]*Revision, len(revs))
	for i, rv := range revs {
		c := *rv
		if c.Data, err = s.decryptData(ctx, app, form, rv.Data); err != nil {
			return nil, fmt.Errorf("revision %s@%d: %w", id, rv.Version, err)
		}
		c.Changes = nil
		for _, ch := range rv.Changes {
			if strings.HasPrefix(ch.Field, blindPrefix) {
				continue
			}
			b, err := s.decryptValue(ctx, app, form, ch.Field, ch.Before)
			if err != nil {
				return nil, err
			}
			a, err := s.decryptValue(ctx, app, form, ch.Field, ch.After)
			if err != nil {
				return nil, err
			}
			if (IsCiphertext(ch.Before) || IsCiphertext(ch.After)) && reflect.DeepEqual(normJSON(b), normJSON(a)) {
				continue
			}
			c.Changes = append(c.Changes, FieldChange{Field: ch.Field, Before: b, After: a})
		}
		out[i] = &c
	}
	return out, nil
}

// EnsureIndexes indexes a sensitive field's blind index instead of its
// ciphertext, wherever the index names the field.
func (s *EncryptingStore) EnsureIndexes(ctx context.Context, ix FormIndex) error {
	f, err := s.forms(ctx, ix.App, ix.Form, 0)
	if err != nil {
		return err
	}
	if f != nil {
		blind := func(keys []string) []string {
			out := make([]string, len(keys))
			for i, k := range keys {
				out[i] = k
				if fd := f.Field(k); fd != nil && fd.Sensitive != "" {
					out[i] = blindPrefix + k
				}
			}
			return out
		}
		ix.Fields, ix.Covered, ix.Choices = blind(ix.Fields), blind(ix.Covered), blind(ix.Choices)
		prefixes := make([][]string, len(ix.Prefixes))
		for i, p := range ix.Prefixes {
			prefixes[i] = blind(p)
		}
		ix.Prefixes = prefixes
	}
	return s.Store.EnsureIndexes(ctx, ix)
}
