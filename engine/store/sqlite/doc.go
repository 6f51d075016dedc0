package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"formwork/engine"
)

func (s *Store) applyDoc(ctx context.Context, tx *sql.Tx, w *engine.DocWrite) (engine.Doc, error) {
	d := w.Doc
	if d.Kind == "" || d.ID == "" {
		return d, engine.Errorf(engine.EINVALID, engine.T("文档缺少类型或编号", "doc without kind or id"))
	}
	s.vers.wrote(engine.DocRef{Kind: d.Kind, ID: d.ID})
	var cur int64
	err := s.queryRow(ctx, tx, sqlDocVersion, d.Kind, d.ID).Scan(&cur)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("sqlite read doc %s/%s: %w", d.Kind, d.ID, err)
	}
	docConflict := func() error {
		return engine.Errorf(engine.ECONFLICT, engine.T("文档已被修改："+d.Kind+"/"+d.ID, fmt.Sprintf("doc %s/%s is at version %d, not %d", d.Kind, d.ID, cur, w.ExpectVersion)))
	}
	if w.Delete {
		if !exists {
			if w.ExpectVersion == engine.AnyVersion {
				return d, nil
			}
			return d, engine.Errorf(engine.ENOTFOUND, engine.T("文档不存在："+d.Kind+"/"+d.ID, "doc not found: "+d.Kind+"/"+d.ID))
		}
		if w.ExpectVersion != engine.AnyVersion && w.ExpectVersion != cur {
			return d, docConflict()
		}
		for _, q := range []string{sqlDeleteDoc, sqlDeleteDocTags, sqlDeleteDocUnique} {
			if _, err := s.exec(ctx, tx, q, d.Kind, d.ID); err != nil {
				return d, fmt.Errorf("sqlite delete doc: %w", err)
			}
		}
		d.Version = cur
		return d, nil
	}
	switch {
	case w.ExpectVersion == engine.AnyVersion:
	case w.ExpectVersion == 0 && exists:
		return d, engine.Errorf(engine.ECONFLICT, engine.T("文档已存在："+d.Kind+"/"+d.ID, "doc already exists: "+d.Kind+"/"+d.ID))
	case w.ExpectVersion != 0 && (!exists || cur != w.ExpectVersion):
		return d, docConflict()
	}
	d.Version = cur + 1
	d.Updated = s.now().UTC().Truncate(time.Millisecond)
	if len(d.Value) == 0 {
		d.Value = json.RawMessage("null")
	}
	if !json.Valid(d.Value) {
		return d, engine.Errorf(engine.EINVALID, engine.T("文档内容不是有效 JSON", "doc value is not valid JSON"))
	}
	tags, _ := json.Marshal(nonNil(d.Tags))
	uniq, _ := json.Marshal(nonNil(d.Unique))
	if _, err := s.exec(ctx, tx, sqlPutDoc,
		d.Kind, d.ID, d.Version, string(tags), string(uniq), string(d.Value), fmtTime(d.Updated)); err != nil {
		return d, fmt.Errorf("sqlite put doc: %w", err)
	}
	if exists {
		for _, q := range []string{sqlDeleteDocTags, sqlDeleteDocUnique} {
			if _, err := s.exec(ctx, tx, q, d.Kind, d.ID); err != nil {
				return d, fmt.Errorf("sqlite put doc tags: %w", err)
			}
		}
	}
	for _, t := range d.Tags {
		if _, err := s.exec(ctx, tx, sqlInsertDocTag, d.Kind, t, d.ID); err != nil {
			return d, fmt.Errorf("sqlite put doc tag: %w", err)
		}
	}
	for _, t := range d.Unique {
		if _, err := s.exec(ctx, tx, sqlInsertDocUnique, d.Kind, t, d.ID); err != nil {
			if isConstraint(err) {
				return d, engine.Errorf(engine.ECONFLICT, engine.T("唯一值已被占用："+t, "unique tag already taken: "+t))
			}
			return d, fmt.Errorf("sqlite put doc unique tag: %w", err)
		}
	}
	return d, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const docCols = `kind, id, version, tags, uniq, value, updated`

func scanDoc(row scanner) (*engine.Doc, error) {
	var d engine.Doc
	var tags, uniq, value, updated string
	if err := row.Scan(&d.Kind, &d.ID, &d.Version, &tags, &uniq, &value, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(uniq), &d.Unique); err != nil {
		return nil, err
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	if len(d.Unique) == 0 {
		d.Unique = nil
	}
	d.Value = json.RawMessage(value)
	d.Updated = parseTime(updated)
	return &d, nil
}

// FindDoc returns one doc; ENOTFOUND when missing.
func (s *Store) FindDoc(ctx context.Context, kind, id string) (*engine.Doc, error) {
	var d *engine.Doc
	err := s.readPoint(ctx, `SELECT `+docCols+` FROM docs WHERE kind = ? AND id = ?`, []any{kind, id},
		func(r *sql.Row) (err error) { d, err = scanDoc(r); return err })
	if errors.Is(err, sql.ErrNoRows) {
		return nil, engine.Errorf(engine.ENOTFOUND, engine.T("文档不存在："+kind+"/"+id, "doc not found: "+kind+"/"+id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite find doc %s/%s: %w", kind, id, err)
	}
	return d, nil
}

// DocVersions reads the docs' versions in one query over docs_versions,
// reading no values: one row of one lookup per ref (0 for a doc that is
// not there), so nothing is matched up in Go and no kind or id is copied
// back. Each request's authentication asks it, through warmReader.
func (s *Store) DocVersions(ctx context.Context, refs []engine.DocRef) ([]int64, error) {
	out := make([]int64, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	h, hOK := s.vers.header()
	if hOK && s.vers.lookup(h, refs, out) {
		return out, nil
	}
	args := make([]any, 0, 2*len(refs))
	dest := make([]any, len(refs))
	for i, r := range refs {
		args = append(args, r.Kind, r.ID)
		dest[i] = &out[i]
	}
	if err := s.readPoint(ctx, docVersionsQuery(len(refs)), args, func(r *sql.Row) error { return r.Scan(dest...) }); err != nil {
		return nil, fmt.Errorf("sqlite doc versions: %w", err)
	}
	if hOK {
		if h2, ok := s.vers.header(); ok && h2 == h {
			s.vers.store(h, refs, out)
		}
	}
	return out, nil
}

// docVersionsQueries are DocVersions' queries for up to 8 refs, built
// once: a request's authentication asks for 4 or 5.
var docVersionsQueries = func() (qs [9]string) {
	for n := range qs {
		qs[n] = buildDocVersionsQuery(n)
	}
	return qs
}()

// docVersionsQuery is DocVersions' query for n refs: one row, a column
// per ref.
func docVersionsQuery(n int) string {
	if n < len(docVersionsQueries) {
		return docVersionsQueries[n]
	}
	return buildDocVersionsQuery(n)
}

func buildDocVersionsQuery(n int) string {
	var q strings.Builder
	q.WriteString(`SELECT `)
	for i := range n {
		if i > 0 {
			q.WriteString(`, `)
		}
		q.WriteString(`coalesce((SELECT version FROM docs INDEXED BY docs_versions WHERE kind = ? AND id = ?), 0)`)
	}
	return q.String()
}

// docWhere is the WHERE clause of FindDocs and CountDocs. A tag is looked
// up in the tag tables, which drive the query: testing each doc of the kind
// for the tag read every task to find one user's inbox.
func docWhere(q engine.DocQuery) (string, []any) {
	where := `kind = ? AND id > ?`
	args := []any{q.Kind, q.After}
	if q.Tag != "" {
		where += ` AND id IN (SELECT id FROM doc_tags WHERE kind = ? AND tag = ? UNION ALL SELECT id FROM doc_unique WHERE kind = ? AND tag = ?)`
		args = append(args, q.Kind, q.Tag, q.Kind, q.Tag)
	}
	return where, args
}

// CountDocs counts the docs FindDocs would list, from the primary key and
// tag indexes alone.
func (s *Store) CountDocs(ctx context.Context, q engine.DocQuery) (int64, error) {
	where, args := docWhere(q)
	var n int64
	if err := s.rc.queryRow(ctx, `SELECT count(*) FROM docs d WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite count docs: %w", err)
	}
	return n, nil
}

// FindDocs lists docs of a kind, optionally with a tag (plain or unique),
// ordered by ID.
func (s *Store) FindDocs(ctx context.Context, q engine.DocQuery) ([]*engine.Doc, error) {
	where, args := docWhere(q)
	query := `SELECT ` + docCols + ` FROM docs d WHERE ` + where + ` ORDER BY id`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.rc.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite find docs: %w", err)
	}
	defer rows.Close()
	var out []*engine.Doc
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite scan doc: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite find docs: %w", err)
	}
	return out, nil
}
