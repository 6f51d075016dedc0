package engine

import (
	"context"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"formwork/engine/filter"
)

// RecordView is a record as one user may see it (API.md's record shape).
type RecordView struct {
	ID        string         `json:"id"`
	App       string         `json:"app"`
	Form      string         `json:"form"`
	Version   int64          `json:"version"`
	Status    string         `json:"status"`
	Unit      string         `json:"unit"`
	Owner     string         `json:"owner"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	DeletedAt *time.Time     `json:"deleted_at,omitempty"`
	DeletedBy string         `json:"deleted_by,omitempty"` // in the recycle bin: who moved it there
	Data      map[string]any `json:"data"`

	// raw is the record's stored data text when the view was made of a
	// record read with RecordQuery.RawData (Data is then nil): AppendJSON
	// writes it redacted by plan (appendViewData).
	raw  string
	plan *fieldPlan
}

func viewOf(r *Record, f *Form, a *Access) *RecordView {
	return viewWith(r, redact(f, a, r.Data))
}

// viewOfRead is viewOf for a record just read from the store that nothing
// else holds: its data is redacted in place, not copied (a list of fifty
// made fifty maps only to drop one key from each).
func viewOfRead(r *Record, f *Form, a *Access) *RecordView {
	v := readView(r, f, a)
	return &v
}

// readView is viewOfRead's view as a value: a page's views are made in one
// slice, not one by one.
func readView(r *Record, f *Form, a *Access) RecordView {
	return readViewPlan(r, f, a, nil)
}

// readViewPlan is readView of a record that may hold its data as stored
// text, redacted when encoded by plan (made when nil).
func readViewPlan(r *Record, f *Form, a *Access, plan *fieldPlan) RecordView {
	if r.RawData != "" {
		if plan == nil {
			plan = newFieldPlan(f, a)
		}
		v := *viewWith(r, nil)
		v.raw, v.plan = r.RawData, plan
		return v
	}
	redactInPlace(f, a, r.Data)
	return *viewWith(r, r.Data)
}

func viewWith(r *Record, data map[string]any) *RecordView {
	return &RecordView{ID: r.ID, App: r.App, Form: r.Form, Version: r.Version, Status: r.Status, Unit: r.Unit,
		Owner: r.Owner, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt, DeletedBy: deletedBy(r), Data: data}
}

// RevisionView is one revision as one user may see it.
type RevisionView struct {
	Version int64          `json:"version"`
	Op      WriteOp        `json:"op"`
	Actor   string         `json:"actor"`
	At      time.Time      `json:"at"`
	Status  string         `json:"status"`
	Changes []FieldChange  `json:"changes"`
	Data    map[string]any `json:"data"`
	// Withheld says the revision also changed fields the user may not
	// see: they are left out of Changes, unnamed.
	Withheld bool `json:"withheld,omitempty"`
}

// ListQuery selects records for a list.
type ListQuery struct {
	Filter  []byte       // raw filter JSON (the filter language)
	Match   []FieldMatch // conditions set on a list page's filters, combined with Filter by $and
	Sort    string       // "-field" or "field", comma-separated
	Limit   int
	Cursor  string
	Search  string
	Deleted bool // the recycle bin
}

// RecordList is one page of records.
type RecordList struct {
	Items      []*RecordView `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// Forbidden is the EFORBIDDEN error of an action the user may not take,
// with the fields that made it so.
func Forbidden(msg Text, fields ...FieldError) error {
	return &Error{Code: EFORBIDDEN, Message: msg, Fields: fields}
}

func notFoundRecord() error {
	return Errorf(ENOTFOUND, T("记录不存在", "record not found"))
}

// checkWritable refuses fields the user may not edit: for each key whose
// value the submission changes (against prev; everything on create), the
// field must be editable. It returns a 403 naming the fields.
func checkWritable(f *Form, a *Access, data, prev map[string]any) error {
	var bad []FieldError
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fd := f.Field(k)
		if fd == nil {
			continue // unknown fields are the rules' to report
		}
		if fd.Compute != "" {
			continue // formulas are computed whatever is sent
		}
		if prev != nil && reflect.DeepEqual(normJSON(prev[k]), normJSON(data[k])) {
			continue
		}
		if prev == nil && a.Field(k) == PermMasked {
			continue // a masked field is entered on create (the user knows what they type), never changed after
		}
		if a.Field(k) != PermEdit {
			if prev != nil && a.Field(k) == PermMasked && reflect.DeepEqual(data[k], Mask(fd.Sensitive, prev[k])) {
				continue // the masked text echoed back unchanged
			}
			bad = append(bad, FieldError{Field: JSONPointer(k), Code: "forbidden", Message: Tf("无权修改字段 %s", "you may not change field %s", k)})
		}
	}
	if len(bad) > 0 {
		return Forbidden(T("包含无权修改的字段", "the submission changes fields you may not edit"), bad...)
	}
	return nil
}

// scrubErrors keeps validation errors from leaking what the user may not
// see: errors on hidden fields become generic, masked ones lose values.
func scrubErrors(f *Form, a *Access, errs []FieldError) []FieldError {
	out := make([]FieldError, 0, len(errs))
	for _, e := range errs {
		k := strings.TrimPrefix(e.Field, "/")
		if i := strings.IndexByte(k, '/'); i >= 0 {
			k = k[:i]
		}
		if fd := f.Field(k); fd != nil {
			switch a.Field(k) {
			case PermHidden:
				e = FieldError{Field: "", Code: "invalid", Message: T("记录中有你无权查看的字段不符合规则", "a field you may not see does not pass its rules")}
			case PermMasked:
				e.Message = Tf("%s 的值不符合规则", "the value of %s does not pass its rules", k)
			}
		}
		out = append(out, e)
	}
	return out
}

// CreateRecord validates and stores a new record owned by p in p's unit.
// When data passes the form's rules it becomes the stored record's data
// (hidden and unknown keys dropped, formulas written): the caller must not
// use it afterwards. When it does not pass, data is left as it was sent,
// with what x-fill put into it (engine/record_fill.go).
func (s *Service) CreateRecord(ctx context.Context, p *Principal, app, form string, data map[string]any) (*RecordView, error) {
	b, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpCreate) {
		if !acc.Can(OpRead) {
			return nil, s.deny(ctx, p, "create", app, form, "", "no create permission", notFoundForm(app, form))
		}
		return nil, s.deny(ctx, p, "create", app, form, "", "no create permission", Forbidden(T("无权新建记录", "you may not create records here")))
	}
	if err := checkWritable(f, acc, data, nil); err != nil {
		return nil, s.deny(ctx, p, "create", app, form, "", "non-editable fields", err)
	}
	_, ch, err := s.createChange(ctx, p, b, v, f, acc, data, s.now())
	if err != nil {
		return nil, err
	}
	return s.applyOne(ctx, ch, f, acc)
}

// applyOne writes the change of one record's action and returns the
// record as written, as acc lets its user see it.
func (s *Service) applyOne(ctx context.Context, ch *Change, f *Form, acc *Access) (*RecordView, error) {
	out, err := s.store.Apply(ctx, ch)
	if err != nil {
		return nil, err
	}
	return viewOf(out.Records[0], f, acc), nil
}

// createChange validates data as a new record of f by p (rules as on the
// form, defaults and formulas, uploaded files claimed) and returns it with
// the change that stores it, the record hooks (workflow triggers) already
// run on it. The caller has checked the create or import operation and
// checkWritable. Errors are the rules' (EINVALID, scrubbed for p) or a
// hook's.
func (s *Service) createChange(ctx context.Context, p *Principal, b *Bundle, v int, f *Form, acc *Access, data map[string]any, now time.Time) (*Record, *Change, error) {
	id := NewID(now)
	fills, err := s.applyFills(ctx, p, b, f, acc, data, nil) // engine/record_fill.go
	if err != nil {
		return nil, nil, err
	}
	res := s.EvaluateRules("create", b.Compiled(f.Key), EvalInput{Data: data, Now: now, TZ: s.zone, User: UserEnvFor(p.User, b.App.Key),
		System: map[string]any{"_id": id, "_unit": p.User.Unit, "_owner": p.User.ID, "_status": StatusActive, "_version": 1}, NoFieldMap: true, InPlace: true})
	if !res.OK() {
		return nil, nil, Invalid(scrubErrors(f, acc, res.Errors)...)
	}
	claims, err := s.bindBlobs(ctx, p, b.App.Key, f, id, res.Data, nil) // engine/blob.go
	if err != nil {
		return nil, nil, err
	}
	r := &Record{ID: id, App: b.App.Key, Form: f.Key, FormVersion: v, Unit: p.User.Unit, Owner: p.User.ID, Status: StatusActive,
		Data: res.Data, CreatedBy: p.User.ID, UpdatedBy: p.User.ID}
	if !holdsScope(acc, r) {
		return nil, nil, s.deny(ctx, p, "create", b.App.Key, f.Key, "", "result outside data scope", outOfScope(acc))
	}
	ch := &Change{Records: []RecordWrite{{Op: WriteCreate, Record: r, Actor: p.Actor(), At: now, Serials: SerialClaims(f, r, now, s.zone)}}, Docs: claims,
		Audit: append([]*AuditEvent{s.Event(p, "create", b.App.Key, f.Key, id, slices.Sorted(maps.Keys(res.Data)), ResultOK, "")}, fills...)}
	if err := s.runHooks(ctx, &RecordEvent{Principal: p, Bundle: b, Form: f, Op: WriteCreate, After: r}, ch); err != nil {
		return nil, nil, err
	}
	return r, ch, nil
}

// findInScope returns a record only if it lies in the user's scope; a
// record outside it is ENOTFOUND, never EFORBIDDEN (no existence oracle).
//
// The record is read by its id and its scope checked in memory with
// filter.Match, which answers as the stores' compiled queries do (the
// conformance suite holds them to it): a filtered query for one id cost
// a read by id several times over. A scope that searches text or reads a
// field encrypted at rest is left to the store, which matches those on
// what it stores (search terms, blind indexes) rather than on the value.
func (s *Service) findInScope(ctx context.Context, app string, f *Form, acc *Access, id string, deleted bool) (*Record, error) {
	scope := acc.ScopeFilter()
	if scope != nil && !matchesInMemory(f, scope) {
		q := RecordQuery{App: app, Form: f.Key, Limit: 1, Deleted: deleted, appVersion: s.formVersion(f),
			Filter: filter.And{Items: []filter.Expr{scope, filter.Cmp{Field: sysField("_id"), Op: filter.OpEq, Value: id}}}}
		page, err := s.store.FindRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(page.Items) == 0 {
			return nil, notFoundRecord()
		}
		return page.Items[0], nil
	}
	r, err := s.store.FindRecordByID(ctx, app, f.Key, id, deleted)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, notFoundRecord()
		}
		return nil, err
	}
	if deleted && r.DeletedAt == nil || !holdsScope(acc, r) {
		return nil, notFoundRecord()
	}
	return r, nil
}

// matchesInMemory reports whether filter.Match answers scope for f's
// records as the store does: it neither searches text nor reads a field
// encrypted at rest (nor a field f does not have), and holds only the
// nodes a parsed filter is made of.
func matchesInMemory(f *Form, scope filter.Expr) bool {
	plain := func(fl filter.Field) bool {
		if fl.System {
			return true
		}
		fd := f.Field(fl.Key)
		return fd != nil && fd.Sensitive == ""
	}
	switch x := scope.(type) {
	case filter.And:
		return !slices.ContainsFunc(x.Items, func(e filter.Expr) bool { return !matchesInMemory(f, e) })
	case filter.Or:
		return !slices.ContainsFunc(x.Items, func(e filter.Expr) bool { return !matchesInMemory(f, e) })
	case filter.Not:
		return matchesInMemory(f, x.X)
	case filter.Cmp:
		return plain(x.Field)
	case filter.Exists:
		return plain(x.Field)
	case filter.Regex:
		return plain(x.Field)
	}
	return false
}

// GetRecord returns one record in p's scope, redacted; the view is audited.
func (s *Service) GetRecord(ctx context.Context, p *Principal, app, form, id string) (*RecordView, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		if v, err := s.sharedRecord(ctx, p, app, f, id); v != nil || err != nil {
			return v, err
		}
		return nil, s.deny(ctx, p, "view", app, form, id, "no read permission", notFoundRecord())
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			if v, err := s.sharedRecord(ctx, p, app, f, id); v != nil || err != nil {
				return v, err
			}
			return nil, s.deny(ctx, p, "view", app, form, id, "not found or out of scope", err)
		}
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "view", app, form, id, nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return viewOfRead(r, f, acc), nil
}

var sortKeyRE = regexp.MustCompile(`^-?_?[a-z][a-z0-9_]{0,62}$`)

// ListRecords returns one page of the records in p's scope that match the
// query. Filtering, searching or sorting on a field p may not see in full
// is refused: it would leak the value.
func (s *Service) ListRecords(ctx context.Context, p *Principal, app, form string, q ListQuery) (*RecordList, error) {
	out, committed, err := s.listRecords(ctx, p, app, form, q, false)
	if err != nil {
		return nil, err
	}
	if err := committed(); err != nil {
		return nil, err
	}
	return out, nil
}

// ListRecordsJSON is ListRecords with the page's JSON (RecordList.AppendJSON)
// appended to buf while the list's audit event commits; the bytes are
// returned only once it has.
func (s *Service) ListRecordsJSON(ctx context.Context, p *Principal, app, form string, q ListQuery, buf []byte) ([]byte, error) {
	out, committed, err := s.listRecords(ctx, p, app, form, q, true)
	if err != nil {
		return nil, err
	}
	b, encErr := out.AppendJSON(buf)
	if err := committed(); err != nil {
		return nil, err
	}
	return b, encErr
}

// listRecords is ListRecords up to its audit event; committed writes it
// and returns when it is committed. With raw the views may hold
// their data as the stored text, for AppendJSON only (RecordQuery.RawData).
func (s *Service) listRecords(ctx context.Context, p *Principal, app, form string, q ListQuery, raw bool) (out *RecordList, committed func() error, err error) {
	b, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, nil, err
	}
	if !acc.Can(OpRead) {
		return nil, nil, s.deny(ctx, p, "list", app, form, "", "no read permission", notFoundForm(app, form))
	}
	if q.Deleted && !acc.Can(OpDelete) {
		return nil, nil, s.deny(ctx, p, "list", app, form, "", "recycle bin needs delete permission", Forbidden(T("无权查看回收站", "you may not open the recycle bin")))
	}
	fe, sortKeys, err := s.selection(ctx, p, "list", app, f, acc, q)
	if err != nil {
		return nil, nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	offset, cursor, err := s.openCursor(ctx, app, f.Key, q.Cursor)
	if err != nil {
		return nil, nil, err
	}
	if allowance := listAllowance(b, f.Key, acc); allowance > 0 {
		if offset >= allowance {
			return nil, nil, s.deny(ctx, p, "list", app, form, "", "paging beyond "+strconv.Itoa(allowance)+" records",
				Forbidden(Tf("列表最多翻阅前 %d 条记录；需要更多请使用导出", "a list pages through its first %d records at most; export to get more", allowance)))
		}
		limit = min(limit, allowance-offset)
	}
	page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: f.Key, Filter: fe, Sort: sortKeys, Limit: limit, Cursor: cursor, Deleted: q.Deleted, RawData: raw, appVersion: v})
	if err != nil {
		return nil, nil, err
	}
	next := ""
	if page.NextCursor != "" {
		if next, err = s.sealCursor(ctx, app, f.Key, offset+len(page.Items), page.NextCursor); err != nil {
			return nil, nil, err
		}
	}
	out = &RecordList{Items: make([]*RecordView, 0, len(page.Items)), NextCursor: next}
	views := make([]RecordView, len(page.Items))
	var plan *fieldPlan
	if raw {
		plan = newFieldPlan(f, acc)
	}
	for i, r := range page.Items {
		views[i] = readViewPlan(r, f, acc, plan)
		out.Items = append(out.Items, &views[i])
	}
	ev := s.Event(p, "list", app, form, "", nil, ResultOK, "")
	ev.Detail = listDetail(len(out.Items), string(q.Filter), q.Search, q.Sort)
	// The event is written once the caller has its answer ready, by the
	// caller's goroutine when no commit is under way (writeAt), rather than
	// queued now for the writer's goroutine to commit while the answer is
	// made: at one client, waking that goroutine and being woken by it
	// cost more than the overlap saved (peer lists 7-18% faster without).
	return out, func() error { return s.audit.writeAt(ctx, ev, v) }, nil
}

// selection is the filter and sort of q over f under acc: the scope, the
// conditions, the filter and the search, each only on fields acc may see
// in full (a denial is audited as action). Lists and exports select alike.
func (s *Service) selection(ctx context.Context, p *Principal, action, app string, f *Form, acc *Access, q ListQuery) (filter.Expr, []SortKey, error) {
	form := f.Key
	var err error
	visible := func(k string) bool {
		if isSystemField(k) {
			return true
		}
		perm := acc.Field(k)
		return perm == PermRead || perm == PermEdit
	}
	var items []filter.Expr
	if scope := acc.ScopeFilter(); scope != nil {
		items = append(items, scope)
	}
	if len(q.Match) > 0 {
		ms := make([]FieldMatch, len(q.Match))
		for i, m := range q.Match {
			if ms[i] = m; m.Range != "" {
				if ms[i], err = s.resolveRange(f, m); err != nil {
					return nil, nil, err
				}
			}
		}
		if q.Filter, err = matchFilter(f, ms, q.Filter); err != nil {
			return nil, nil, err
		}
	}
	if len(q.Filter) > 0 {
		e, err := parseRequestFilter(f, q.Filter, func() (filter.Vars, error) { return s.principalVars(ctx, p) })
		if err != nil {
			return nil, nil, err
		}
		for _, fl := range filter.Fields(e) {
			if !visible(fl.Key) {
				return nil, nil, s.deny(ctx, p, action, app, form, "", "filter on a field not visible in full: "+fl.Key,
					Forbidden(T("不能按无权完整查看的字段筛选", "you may not filter on a field you cannot see in full"),
						FieldError{Field: JSONPointer(fl.Key), Code: "forbidden", Message: Tf("不能按字段 %s 筛选", "you may not filter on %s", fl.Key)}))
			}
		}
		items = append(items, e)
	}
	if term := strings.TrimSpace(q.Search); term != "" {
		if len([]rune(term)) > 100 {
			return nil, nil, Invalid(FieldError{Field: "/search", Code: "maxLength", Message: T("搜索词过长", "the search term is too long")})
		}
		items = append(items, s.searchFilter(f, visible, term))
	}
	var sortKeys []SortKey
	if q.Sort != "" {
		for _, part := range strings.Split(q.Sort, ",") {
			part = strings.TrimSpace(part)
			if !sortKeyRE.MatchString(part) {
				return nil, nil, Invalid(FieldError{Field: "/sort", Code: "invalid", Message: Tf("无效的排序 %q", "invalid sort %q", part)})
			}
			k := strings.TrimPrefix(part, "-")
			if f.Field(k) == nil && !isSystemField(k) {
				return nil, nil, Invalid(FieldError{Field: "/sort", Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", k)})
			}
			if !visible(k) {
				return nil, nil, s.deny(ctx, p, action, app, form, "", "sort on a field not visible in full: "+k,
					Forbidden(T("不能按无权完整查看的字段排序", "you may not sort on a field you cannot see in full"),
						FieldError{Field: "/sort", Code: "forbidden", Message: Tf("不能按字段 %s 排序", "you may not sort on %s", k)}))
			}
			sortKeys = append(sortKeys, SortKey{Field: k, Desc: strings.HasPrefix(part, "-")})
		}
	}
	return filter.AllOf(items), sortKeys, nil
}

// searchFilter is the full-text search of term over the text fields the
// viewer reads in full: through the stores' text index (filter.Text), or,
// for a sensitive field kept encrypted, the exact value through its blind
// index. Masked and hidden fields are never searched.
func (s *Service) searchFilter(f *Form, visible func(string) bool, term string) filter.Expr {
	var ors []filter.Expr
	var text []filter.Field
	for _, fd := range f.Fields {
		if fd.Type != "string" || !visible(fd.Key) {
			continue
		}
		fl := filter.Field{Key: fd.Key, Type: filter.TypeString}
		if s.keys != nil && fd.Sensitive != "" {
			ors = append(ors, filter.Cmp{Field: fl, Op: filter.OpEq, Value: term})
			continue
		}
		text = append(text, fl)
	}
	if t, ok := filter.NewText(text, term); ok && len(text) > 0 {
		ors = append(ors, t)
	}
	if len(ors) == 1 {
		return ors[0]
	}
	return filter.Or{Items: ors}
}

// UpdateRecord applies a partial change at an expected version (stale →
// ECONFLICT). Fields p may not see keep their stored values.
func (s *Service) UpdateRecord(ctx context.Context, p *Principal, app, form, id string, version int64, patch map[string]any) (*RecordView, error) {
	b, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, s.deny(ctx, p, "update", app, form, id, "no read permission", notFoundRecord())
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		return nil, s.deny(ctx, p, "update", app, form, id, "not found or out of scope", err)
	}
	if !acc.Can(OpUpdate) {
		return nil, s.deny(ctx, p, "update", app, form, id, "no update permission", Forbidden(T("无权修改记录", "you may not change records here")))
	}
	if r.Status == StatusInReview && !p.User.Admin {
		return nil, s.deny(ctx, p, "update", app, form, id, "record under review", &Error{Code: ECONFLICT, Message: T("记录正在审批中，撤回后才能修改", "the record is under review; withdraw it to change it")})
	}
	if version != 0 && version != r.Version {
		return nil, &Error{Code: ECONFLICT, Message: Tf("记录已被他人修改（当前版本 %d）", "the record was changed meanwhile (now at version %d)", r.Version)}
	}
	if err := checkWritable(f, acc, patch, r.Data); err != nil {
		return nil, s.deny(ctx, p, "update", app, form, id, "non-editable fields", err)
	}
	_, ch, err := s.updateChange(ctx, p, b, v, f, acc, r, patch, s.now())
	if err != nil {
		return nil, err
	}
	return s.applyOne(ctx, ch, f, acc)
}

// updateChange applies patch (a JSON merge patch at the top level) to r
// as p, evaluates the form's rules on the result and returns the new state
// with the change that writes it at r's version, the record hooks already
// run. A masked value echoed back keeps the stored one. The caller has
// checked the update operation, the record's scope and state, and
// checkWritable.
func (s *Service) updateChange(ctx context.Context, p *Principal, b *Bundle, v int, f *Form, acc *Access, r *Record, patch map[string]any, now time.Time) (*Record, *Change, error) {
	merged := CloneData(r.Data)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, val := range patch {
		if val == nil { // JSON merge patch: null removes the value
			delete(merged, k)
			continue
		}
		merged[k] = val
	}
	// a masked value echoed back must not overwrite the stored one
	for k, val := range patch {
		if fd := f.Field(k); fd != nil && acc.Field(k) == PermMasked && reflect.DeepEqual(val, Mask(fd.Sensitive, r.Data[k])) {
			merged[k] = r.Data[k]
		}
	}
	fills, err := s.applyFills(ctx, p, b, f, acc, merged, r.Data) // engine/record_fill.go
	if err != nil {
		return nil, nil, err
	}
	res := s.EvaluateRules("update", b.Compiled(f.Key), EvalInput{Data: merged, Prev: r.Data, Now: now, TZ: s.zone, User: UserEnvFor(p.User, b.App.Key), System: SystemOf(r), NoFieldMap: true, InPlace: true})
	if !res.OK() {
		return nil, nil, Invalid(scrubErrors(f, acc, res.Errors)...)
	}
	claims, err := s.bindBlobs(ctx, p, b.App.Key, f, r.ID, res.Data, r.Data) // engine/blob.go
	if err != nil {
		return nil, nil, err
	}
	nr := r.Clone()
	nr.Data, nr.FormVersion, nr.UpdatedBy = res.Data, v, p.User.ID
	if !holdsScope(acc, nr) {
		return nil, nil, s.deny(ctx, p, "update", b.App.Key, f.Key, r.ID, "result outside data scope", outOfScope(acc))
	}
	changed := DiffData(r.Data, res.Data)
	fields := make([]string, len(changed))
	for i, c := range changed {
		fields[i] = c.Field
	}
	ch := &Change{Records: []RecordWrite{{Op: WriteUpdate, Record: nr, ExpectVersion: r.Version, Actor: p.Actor(), At: now}}, Docs: claims,
		Audit: append([]*AuditEvent{s.Event(p, "update", b.App.Key, f.Key, r.ID, fields, ResultOK, "")}, fills...)}
	if err := s.runHooks(ctx, &RecordEvent{Principal: p, Bundle: b, Form: f, Op: WriteUpdate, Before: r, After: nr}, ch); err != nil {
		return nil, nil, err
	}
	return nr, ch, nil
}

// systemKeys are the system fields SystemOf returns.
var systemKeys = []string{"_id", "_unit", "_owner", "_status", "_version", "_created_at", "_updated_at"}

// SystemOf returns the system fields (_id, _unit, _owner, _status, …)
// rules read of a stored record.
func SystemOf(r *Record) map[string]any {
	m := make(map[string]any, len(systemKeys))
	for _, k := range systemKeys {
		m[k] = systemValue(r, k)
	}
	return m
}

// systemValue is one of SystemOf's fields (nil for another key), for a
// check that reads a few of them.
func systemValue(r *Record, key string) any {
	switch key {
	case "_id":
		return r.ID
	case "_unit":
		return r.Unit
	case "_owner":
		return r.Owner
	case "_status":
		return r.Status
	case "_version":
		return r.Version
	case "_created_at":
		return r.CreatedAt.UTC().Format(filter.TimeFormat)
	case "_updated_at":
		return r.UpdatedAt.UTC().Format(filter.TimeFormat)
	}
	return nil
}

// DeleteRecord moves a record to the recycle bin (version 0: current).
func (s *Service) DeleteRecord(ctx context.Context, p *Principal, app, form, id string, version int64) error {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return err
	}
	if !acc.Can(OpRead) {
		return s.deny(ctx, p, "delete", app, form, id, "no read permission", notFoundRecord())
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		return s.deny(ctx, p, "delete", app, form, id, "not found or out of scope", err)
	}
	if !acc.Can(OpDelete) {
		return s.deny(ctx, p, "delete", app, form, id, "no delete permission", Forbidden(T("无权删除记录", "you may not delete records here")))
	}
	if version != 0 && version != r.Version {
		return &Error{Code: ECONFLICT, Message: Tf("记录已被他人修改（当前版本 %d）", "the record was changed meanwhile (now at version %d)", r.Version)}
	}
	now := s.now()
	_, err = s.store.Apply(ctx, &Change{Records: []RecordWrite{{Op: WriteDelete, Record: r, ExpectVersion: r.Version, Actor: p.Actor(), At: now}},
		Audit: []*AuditEvent{s.Event(p, "delete", app, f.Key, id, nil, ResultOK, "")}})
	return err
}

// Revisions returns a record's history, redacted like the record itself.
func (s *Service) Revisions(ctx context.Context, p *Principal, app, form, id string) ([]*RevisionView, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	denied := ""
	if !acc.Can(OpRead) {
		denied = "no read permission"
	} else if _, err := s.findInScope(ctx, app, f, acc, id, false); err != nil {
		if _, err2 := s.findInScope(ctx, app, f, acc, id, true); err2 != nil {
			denied = "not found or out of scope"
		}
	}
	if denied != "" {
		sh, _, err := s.shareAccess(ctx, p, app, f, id)
		if err != nil {
			return nil, err
		}
		if sh == nil {
			return nil, s.deny(ctx, p, "revisions", app, form, id, denied, notFoundRecord())
		}
		acc = sh
	}
	revs, err := s.store.FindRevisions(ctx, app, f.Key, id)
	if err != nil {
		return nil, err
	}
	out := make([]*RevisionView, 0, len(revs))
	for _, rv := range revs {
		changes := redactChanges(f, acc, rv.Changes)
		out = append(out, &RevisionView{Version: rv.Version, Op: rv.Op, Actor: rv.Actor, At: rv.At, Status: rv.Status,
			Changes: changes, Data: redact(f, acc, rv.Data), Withheld: len(changes) < len(rv.Changes)})
	}
	if err := s.audit.Write(ctx, s.Event(p, "revisions", app, form, id, nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return out, nil
}

// RestoreRecord brings a record back to revision N (the record as it stood
// at version N) as a new revision; a record in the recycle bin comes back
// (at its last state when revision is 0).
func (s *Service) RestoreRecord(ctx context.Context, p *Principal, app, form, id string, revision int64) (*RecordView, error) {
	_, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, s.deny(ctx, p, "restore", app, form, id, "no read permission", notFoundRecord())
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		if r, err = s.findInScope(ctx, app, f, acc, id, true); err != nil {
			return nil, s.deny(ctx, p, "restore", app, form, id, "not found or out of scope", err)
		}
	}
	if !acc.Can(OpUpdate) || (r.DeletedAt != nil && !acc.Can(OpDelete)) {
		return nil, s.deny(ctx, p, "restore", app, form, id, "no update permission", Forbidden(T("无权恢复记录", "you may not restore records here")))
	}
	nr := r.Clone()
	if revision != 0 {
		revs, err := s.store.FindRevisions(ctx, app, f.Key, id)
		if err != nil {
			return nil, err
		}
		var found *Revision
		for _, rv := range revs {
			if rv.Version == revision {
				found = rv
			}
		}
		if found == nil {
			return nil, Invalid(FieldError{Field: "/revision", Code: "not_found", Message: Tf("没有第 %d 版", "there is no revision %d", revision)})
		}
		// fields the user may not edit keep their current values, and so
		// does a serial number (a revision from before it was given has none)
		data := CloneData(found.Data)
		if data == nil {
			data = map[string]any{}
		}
		for _, fd := range f.Fields {
			if acc.Field(fd.Key) != PermEdit || fd.Widget == WidgetSerial {
				if cur, ok := r.Data[fd.Key]; ok {
					data[fd.Key] = cur
				} else {
					delete(data, fd.Key)
				}
			}
		}
		nr.Data = data
	}
	nr.FormVersion, nr.UpdatedBy, nr.DeletedAt = v, p.User.ID, nil
	if !holdsScope(acc, nr) {
		return nil, s.deny(ctx, p, "restore", app, form, id, "result outside data scope", outOfScope(acc))
	}
	now := s.now()
	out, err := s.store.Apply(ctx, &Change{Records: []RecordWrite{{Op: WriteRestore, Record: nr, ExpectVersion: r.Version, Actor: p.Actor(), At: now}},
		Audit: []*AuditEvent{s.Event(p, "restore", app, f.Key, id, nil, ResultOK, "")}})
	if err != nil {
		return nil, err
	}
	return viewOf(out.Records[0], f, acc), nil
}

// Preview evaluates the rules on a form being filled in (id "" for a new
// record) and returns field states, computed values and errors, redacted.
// It writes nothing; the form page calls it as fields change.
func (s *Service) Preview(ctx context.Context, p *Principal, app, form, id string, data map[string]any) (*EvalResult, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	in := EvalInput{Data: data, Now: s.now(), TZ: s.zone, User: UserEnvFor(p.User, app),
		System: map[string]any{"_unit": p.User.Unit, "_owner": p.User.ID, "_status": StatusActive}}
	if id == "" {
		if !acc.Can(OpCreate) {
			return nil, notFoundForm(app, form)
		}
	} else {
		if !acc.Can(OpRead) {
			return nil, notFoundRecord()
		}
		r, err := s.findInScope(ctx, app, f, acc, id, false)
		if err != nil {
			return nil, err
		}
		merged := CloneData(r.Data)
		if merged == nil {
			merged = map[string]any{}
		}
		for k, v := range data {
			if fd := f.Field(k); fd != nil && acc.Field(k) == PermEdit {
				merged[k] = v
			}
		}
		in.Data, in.Prev, in.System = merged, r.Data, SystemOf(r)
	}
	defer s.ruleTook("preview", time.Now())
	return evaluateFor(b, f, acc, in), nil
}

// evaluateFor evaluates the rules of f on in and keeps what acc's user
// may see of the verdict: values redacted, hidden fields' states and
// errors left out.
func evaluateFor(b *Bundle, f *Form, acc *Access, in EvalInput) *EvalResult {
	res := b.Compiled(f.Key).Evaluate(in)
	res.Data = redact(f, acc, res.Data)
	for k := range res.Fields {
		if acc.Field(k) == PermHidden {
			delete(res.Fields, k)
			delete(res.Rows, k)
		}
	}
	res.Errors = scrubErrors(f, acc, res.Errors)
	return res
}
