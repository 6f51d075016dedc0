package engine

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Doc kinds of public form links.
const (
	// KindPublicLink holds the one public link of a form (ID "APP/FORM").
	// Revoking deletes it, so its address answers 404 on every node at once.
	KindPublicLink = "public_link"
	// KindPublicSubmission records each form token used (ID its nonce), in
	// the same write as the record it created: a token works once.
	KindPublicSubmission = "public_submission"
)

// PublicActor is the audit actor of what an anonymous person does through
// the public link with id link.
func PublicActor(link string) string { return "public:" + link }

// PublicLink is a link anyone may fill one form at, without an account.
// Records made through it belong to Unit and Owner and are checked with
// the owner's permissions; the public sees only the fields the owner may
// enter, minus sensitive ones unless Sensitive names them, minus widgets
// that would read stored data (relations, members, units, files, serials).
type PublicLink struct {
	ID        string    `json:"id"` // names the link in audit events
	App       string    `json:"app"`
	Form      string    `json:"form"`
	Token     string    `json:"token"` // the secret part of the address /f/TOKEN
	Unit      string    `json:"unit"`
	Owner     string    `json:"owner"` // user id
	Sensitive []string  `json:"sensitive"`
	Key       []byte    `json:"key"` // signs the form tokens of its pages
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// PublicLinkInput is what making a link takes: the unit and owner of the
// records it creates (default: the caller and their unit) and the
// sensitive fields the public may fill.
type PublicLinkInput struct {
	Unit      string   `json:"unit,omitempty"`
	Owner     string   `json:"owner,omitempty"` // user id or email
	Sensitive []string `json:"sensitive,omitempty"`
}

// PublicSubmission is one anonymous submission of a public form.
type PublicSubmission struct {
	Token     string // the link's token, from the address
	FormToken string // the page's signed form token
	Work      string // the proof of work for the form token's nonce
	Honeypot  string // a field hidden from people; a bot fills it
	IP        string
	Data      map[string]any
}

// PublicForm is what the anonymous page shows: the fields the public
// fills, a fresh form token and its proof-of-work challenge.
type PublicForm struct {
	View      *FormView
	FormToken string
	Challenge string
	WorkBits  int
}

type publicSubmissionDoc struct {
	Link   string    `json:"link"`
	Record string    `json:"record"`
	IP     string    `json:"ip"`
	At     time.Time `json:"at"`
}

func publicLinkID(app, form string) string { return app + "/" + form }

func linkGone() error {
	return Errorf(ENOTFOUND, T("此链接不存在或已被撤销", "this link does not exist or has been revoked"))
}

// publicWidget reports whether the public may fill a field of this kind:
// not one that picks or shows stored data or files.
func publicWidget(fd *Field) bool {
	switch fd.Widget {
	case WidgetRelation, WidgetMember, WidgetUnit, WidgetAttachment, WidgetImage, WidgetSerial:
		return false
	}
	for _, sub := range fd.Fields {
		if !publicWidget(sub) || sub.Sensitive != "" {
			return false
		}
	}
	return true
}

// publicAccess is what the public may do through a link whose owner has
// full access to f: create, with the fields the owner may enter (a masked
// one too, as on any create) that publicWidget allows and that are not
// sensitive unless the link names them; everything else hidden. The scope
// stays the owner's, so the record must lie in it.
func publicAccess(f *Form, full *Access, sensitive []string) *Access {
	acc := &Access{Ops: map[string]bool{OpCreate: true}, All: full.All, Scopes: full.Scopes, Fields: map[string]string{}}
	for _, fd := range f.Fields {
		perm := full.Field(fd.Key)
		ok := (perm == PermEdit || perm == PermMasked) && publicWidget(fd) && (fd.Sensitive == "" || slices.Contains(sensitive, fd.Key))
		acc.Fields[fd.Key] = map[bool]string{true: PermEdit, false: PermHidden}[ok]
	}
	return acc
}

// linkAccess is how a public submission through l acts: the owner (read
// afresh, as any user on every request) placed in the link's unit, with
// the public's access. ENOTFOUND (the link is gone, to the public) when the
// owner no longer exists, is frozen or may no longer create there, or the
// form is gone.
func (s *Service) linkAccess(ctx context.Context, l *PublicLink, ip string) (*Principal, *Bundle, int, *Form, *Access, error) {
	owner, err := s.org.FindUserByID(ctx, l.Owner)
	if err != nil || owner.Frozen {
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, nil, 0, nil, nil, err
		}
		return nil, nil, 0, nil, nil, linkGone()
	}
	b, v, f, err := s.publishedForm(ctx, l.App, l.Form)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, 0, nil, nil, linkGone()
		}
		return nil, nil, 0, nil, nil, err
	}
	full, err := s.accessOf(ctx, owner, "", b, f)
	if err != nil {
		return nil, nil, 0, nil, nil, err
	}
	if !full.Can(OpCreate) {
		return nil, nil, 0, nil, nil, linkGone()
	}
	in := *owner
	in.Unit = l.Unit
	return &Principal{User: &in, IP: ip, Link: l.ID}, b, v, f, publicAccess(f, full, l.Sensitive), nil
}

// CreatePublicLink makes the public link of a form, replacing (and so
// revoking) any it had (administrators and the app's designers); audited
// as public_link.create. EINVALID with pointers for an unknown owner or
// unit, an owner who may not create records of the form in that unit, a
// sensitive field that is not one the public could fill, or a required
// field the public could not fill.
func (s *Service) CreatePublicLink(ctx context.Context, p *Principal, app, form string, in PublicLinkInput) (*PublicLink, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "public_link.create"); err != nil {
		return nil, err
	}
	b, _, f, err := s.publishedForm(ctx, app, form)
	if err != nil {
		return nil, err
	}
	owner, err := s.linkOwner(ctx, p, in.Owner)
	if err != nil {
		return nil, err
	}
	if in.Unit == "" {
		in.Unit = owner.Unit
	}
	if _, err := s.org.FindUnit(ctx, in.Unit); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(FieldError{Field: "/unit", Code: "not_found", Message: Tf("没有单位 %s", "there is no unit %s", in.Unit)})
		}
		return nil, err
	}
	full, err := s.accessOf(ctx, owner, "", b, f)
	if err != nil {
		return nil, err
	}
	if !full.Can(OpCreate) {
		return nil, Invalid(FieldError{Field: "/owner", Code: "forbidden", Message: Tf("%s 无权在此表单新建记录", "%s may not create records on this form", owner.Name)})
	}
	acc := publicAccess(f, full, in.Sensitive)
	if err := checkLinkFields(f, full, acc, in.Sensitive); err != nil {
		return nil, err
	}
	if !holdsScope(acc, &Record{App: app, Form: form, Unit: in.Unit, Owner: owner.ID}) {
		return nil, Invalid(FieldError{Field: "/unit", Code: "scope", Message: Tf("%s 的记录不在 %s 的数据范围内", "records of %s would be outside the data scope of %s", in.Unit, owner.Name)})
	}
	now := s.now()
	l := &PublicLink{ID: NewID(now), App: app, Form: form, Token: randomB64(16), Unit: in.Unit, Owner: owner.ID,
		Sensitive: in.Sensitive, Key: []byte(randomB64(32)), CreatedBy: p.Actor(), CreatedAt: now.UTC()}
	if l.Sensitive == nil {
		l.Sensitive = []string{}
	}
	old, ver, err := findDocAs[PublicLink](ctx, s.store, KindPublicLink, publicLinkID(app, form))
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, fmt.Errorf("find public link: %w", err)
	}
	ev := s.Event(p, "public_link.create", app, form, l.ID, l.Sensitive, ResultOK, "")
	detail := map[string]any{"unit": l.Unit, "owner": l.Owner}
	if old != nil {
		detail["replaces"] = old.ID
	}
	ev.Detail = MustJSON(detail)
	doc := DocWrite{Doc: Doc{Kind: KindPublicLink, ID: publicLinkID(app, form), Tags: []string{"token:" + l.Token}, Value: MustJSON(l), Updated: now}, ExpectVersion: ver}
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{doc}, Audit: []*AuditEvent{ev}}); err != nil {
		return nil, fmt.Errorf("create public link: %w", err)
	}
	return l, nil
}

// linkOwner is the owner a new link names: ref (an id or email), or p.
func (s *Service) linkOwner(ctx context.Context, p *Principal, ref string) (*User, error) {
	if ref == "" {
		ref = p.User.ID
	}
	u, err := s.findUserRef(ctx, ref)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(FieldError{Field: "/owner", Code: "not_found", Message: Tf("没有用户 %s", "there is no user %s", ref)})
		}
		return nil, err
	}
	if u.Frozen || u.Auditor {
		return nil, Invalid(FieldError{Field: "/owner", Code: "forbidden", Message: Tf("%s 不能作为公开链接的记录负责人", "%s cannot own the records of a public link", u.Name)})
	}
	return u, nil
}

// checkLinkFields refuses a link whose sensitive list names a field the
// public could not fill, or whose form requires a field the public does
// not see and nothing else fills (no default, no formula).
func checkLinkFields(f *Form, full, acc *Access, sensitive []string) error {
	var bad []FieldError
	for i, k := range sensitive {
		fd := f.Field(k)
		if fd == nil || fd.Sensitive == "" || acc.Field(k) != PermEdit {
			bad = append(bad, FieldError{Field: fmt.Sprintf("/sensitive/%d", i), Code: "invalid", Message: Tf("%s 不是公众可填写的敏感字段", "%s is not a sensitive field the public may fill", k)})
		}
	}
	for _, k := range f.Required {
		fd := f.Field(k)
		if fd == nil || acc.Field(k) == PermEdit || fd.HasDefault || fd.Compute != "" {
			continue
		}
		label := fd.LabelOr()
		msg := Text{Zh: fmt.Sprintf("必填字段“%s”公众无法填写", label.In("zh")), En: fmt.Sprintf("the public cannot fill the required field %q", label.In("en"))}
		if fd.Sensitive != "" && full.Field(k) != PermHidden && publicWidget(fd) {
			msg = Text{Zh: fmt.Sprintf("必填字段“%s”是敏感字段，须在链接中允许公众填写", label.In("zh")), En: fmt.Sprintf("the required field %q is sensitive: allow the public to fill it on the link", label.In("en"))}
		}
		bad = append(bad, FieldError{Field: "/sensitive", Code: "required", Message: msg})
	}
	if len(bad) > 0 {
		return Invalid(bad...)
	}
	return nil
}

// PublicLink returns a form's public link (administrators and the app's
// designers). ENOTFOUND when it has none.
func (s *Service) PublicLink(ctx context.Context, p *Principal, app, form string) (*PublicLink, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "public_link.read"); err != nil {
		return nil, err
	}
	l, _, err := findDocAs[PublicLink](ctx, s.store, KindPublicLink, publicLinkID(app, form))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, T("此表单没有公开链接", "this form has no public link"))
	}
	if err != nil {
		return nil, fmt.Errorf("find public link: %w", err)
	}
	return l, nil
}

// RevokePublicLink deletes a form's public link (administrators and the
// app's designers): its address answers 404 from the next request on, on
// every node; audited as public_link.revoke. ENOTFOUND when it has none.
func (s *Service) RevokePublicLink(ctx context.Context, p *Principal, app, form string) error {
	if err := s.AuthorizeDesign(ctx, p, app, "public_link.revoke"); err != nil {
		return err
	}
	l, ver, err := findDocAs[PublicLink](ctx, s.store, KindPublicLink, publicLinkID(app, form))
	if ErrorCode(err) == ENOTFOUND {
		return Errorf(ENOTFOUND, T("此表单没有公开链接", "this form has no public link"))
	}
	if err != nil {
		return fmt.Errorf("find public link: %w", err)
	}
	ev := s.Event(p, "public_link.revoke", app, form, l.ID, nil, ResultOK, "")
	_, err = s.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindPublicLink, ID: publicLinkID(app, form)}, ExpectVersion: ver, Delete: true}},
		Audit: []*AuditEvent{ev}})
	if err != nil {
		return fmt.Errorf("revoke public link: %w", err)
	}
	return nil
}

// linkByToken finds the live link with token. ENOTFOUND when there is
// none (never was, revoked, replaced).
func (s *Service) linkByToken(ctx context.Context, token string) (*PublicLink, error) {
	if len(token) != nonceLen {
		return nil, linkGone()
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindPublicLink, Tag: "token:" + token, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("find public link: %w", err)
	}
	links := decodeEach[PublicLink](docs, func(l *PublicLink) bool { return l.Token == token })
	if len(links) == 0 {
		return nil, linkGone()
	}
	return links[0], nil
}

// OpenPublicForm is the anonymous page of a link: the fields the public
// fills and a fresh form token. It reads no record. ENOTFOUND when the
// link is gone.
func (s *Service) OpenPublicForm(ctx context.Context, token, ip string) (*PublicForm, error) {
	l, err := s.linkByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	_, _, v, f, acc, err := s.linkAccess(ctx, l, ip)
	if err != nil {
		return nil, err
	}
	ft := issueFormToken(l.Key, s.now())
	t, _ := parseFormToken(ft)
	return &PublicForm{View: formViewOf(l.App, v, f, acc), FormToken: ft, Challenge: t.Nonce, WorkBits: PublicWorkBits}, nil
}

// PreviewPublic evaluates the rules on a public form being filled in, as
// Preview does for staff, for a page whose form token is valid. It
// writes nothing. ENOTFOUND when the link is gone; the form token's
// errors as in SubmitPublic.
func (s *Service) PreviewPublic(ctx context.Context, token, formToken, ip string, data map[string]any) (*EvalResult, *FormView, error) {
	l, err := s.linkByToken(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	p, b, v, f, acc, err := s.linkAccess(ctx, l, ip)
	if err != nil {
		return nil, nil, err
	}
	if _, err := checkFormToken(l.Key, formToken, s.now()); err != nil {
		return nil, nil, err
	}
	in := EvalInput{Data: data, Now: s.now(), TZ: s.zone, User: UserEnvFor(p.User, l.App),
		System: map[string]any{"_unit": p.User.Unit, "_owner": p.User.ID, "_status": StatusActive}}
	return evaluateFor(b, f, acc, in), formViewOf(l.App, v, f, acc), nil
}

// PublicFormView is the form of a live link as the public fills it, for
// a page that shows a refused submission again. ENOTFOUND when the link is
// gone.
func (s *Service) PublicFormView(ctx context.Context, token string) (*FormView, error) {
	l, err := s.linkByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	_, _, v, f, acc, err := s.linkAccess(ctx, l, "")
	if err != nil {
		return nil, err
	}
	return formViewOf(l.App, v, f, acc), nil
}

// SubmitPublic stores an anonymous submission through a link as a new
// record of the link's unit and owner, starting workflows as any create
// does, and returns its id. Every submission that reaches the checks is
// audited with its address, under PublicActor of the link. Errors:
// ENOTFOUND when the link is gone; EFORBIDDEN for a tampered form token,
// a missing proof of work, a filled honeypot or fields the public may not
// fill; EGONE for an expired form token; ECONFLICT for a form token used
// before; EINVALID (scrubbed) when the data breaks the form's rules.
func (s *Service) SubmitPublic(ctx context.Context, sub PublicSubmission) (string, error) {
	l, err := s.linkByToken(ctx, sub.Token)
	if err != nil {
		return "", err
	}
	p, b, v, f, acc, err := s.linkAccess(ctx, l, sub.IP)
	if err != nil {
		return "", err
	}
	deny := func(reason string, err error) (string, error) {
		return "", s.deny(ctx, p, "public.submit", l.App, l.Form, l.ID, reason, err)
	}
	now := s.now()
	ft, err := checkFormToken(l.Key, sub.FormToken, now)
	if err != nil {
		return deny("form token: "+ErrorCode(err), err)
	}
	if !checkWork(ft.Nonce, sub.Work) {
		return deny("no proof of work", Errorf(EFORBIDDEN, T("提交未通过校验，请在浏览器中重新打开链接填写", "the submission did not pass the check; open the link again in a browser")))
	}
	if sub.Honeypot != "" {
		return deny("honeypot filled", Errorf(EFORBIDDEN, T("提交未被接受", "the submission was not accepted")))
	}
	if _, err := s.store.FindDoc(ctx, KindPublicSubmission, ft.Nonce); err == nil {
		return deny("form token used before", alreadySubmitted())
	} else if ErrorCode(err) != ENOTFOUND {
		return "", err
	}
	if sub.Data == nil {
		sub.Data = map[string]any{}
	}
	if err := checkWritable(f, acc, sub.Data, nil); err != nil {
		return deny("non-public fields", err)
	}
	r, ch, err := s.createChange(ctx, p, b, v, f, acc, sub.Data, now)
	if err != nil {
		return "", err
	}
	ch.Audit[0].Detail = MustJSON(map[string]string{"via": "public_link", "link": l.ID})
	ch.Docs = append(ch.Docs, DocWrite{Doc: Doc{Kind: KindPublicSubmission, ID: ft.Nonce, Tags: []string{"link:" + l.ID},
		Value: MustJSON(publicSubmissionDoc{Link: l.ID, Record: r.ID, IP: sub.IP, At: now.UTC()}), Updated: now}})
	if _, err := s.store.Apply(ctx, ch); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return deny("form token used before", alreadySubmitted())
		}
		return "", fmt.Errorf("public submit: %w", err)
	}
	return r.ID, nil
}

func alreadySubmitted() error {
	return Errorf(ECONFLICT, T("此表单已提交过；如需再次填写，请重新打开链接", "this form was already sent; open the link again to fill it once more"))
}

// PublicFieldKeys lists the keys of the fields a link's public fills, in
// form order (for pages that say what a link shows).
func PublicFieldKeys(fv *FormView) []string {
	keys := make([]string, 0, len(fv.Fields))
	for _, f := range fv.Fields {
		keys = append(keys, f.Field.Key)
	}
	return keys
}
