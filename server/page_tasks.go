package server

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/web"
)

// bindTaskPages binds the approver's pages: the inbox of tasks, batch
// approval, a task's page and its actions, and the submitter's withdrawal
// from the record page. Every decision goes through the workflow runtime
// (engine/workflow), which checks who may act and validates edits with the
// form's rules.
func (s *server) bindTaskPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/tasks", s.tasksPage, page...)
	e.POST("/tasks/approve", s.batchApprovePage, page...)
	e.GET("/tasks/:id", s.taskPage, page...)
	e.POST("/tasks/:id/:action", s.taskActionPage, page...)
	e.POST("/apps/:app/forms/:form/records/:id/withdraw", s.withdrawPage, page...)
	e.GET("/access/requests", s.grantRequestPage, page...)
	e.POST("/access/requests", s.grantRequestSubmit, page...)
}

// inboxCount is the number of open tasks the signed-in user holds, for
// the badge in the top bar: one tag lookup in the store. A failure only
// hides the badge.
func (s *server) inboxCount(c echo.Context) int {
	w := s.wf
	p := principal(c)
	if w == nil || p.User == nil {
		return 0
	}
	n, err := w.OpenTaskCount(c.Request().Context(), p)
	if err != nil {
		s.log.Warn("inbox count", "err", err)
		return 0
	}
	return n
}

func taskURL(id string) string { return "/tasks/" + url.PathEscape(id) }

func recordPageURL(app, form, id string) string {
	return formBase(app, form) + "/records/" + url.PathEscape(id)
}

// textOr is a node's or workflow's name in lang, else its key.
func textOr(t *engine.Text, key, lang string) string {
	if t != nil {
		if s := t.In(lang); s != "" {
			return s
		}
	}
	return key
}

func (s *server) tasksPage(c echo.Context) error {
	return s.renderTasks(c, http.StatusOK, nil)
}

// renderTasks draws the inbox for ?tab=open|done&form=app/form, with the
// outcome lines of a batch approval when there are any.
func (s *server) renderTasks(c echo.Context, status int, results []string) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	tab := c.QueryParam("tab")
	if tab != "done" {
		tab = "open"
	}
	filter := c.QueryParam("form")
	q := workflow.TaskQuery{Status: tab, Limit: 200}
	if filter != "" {
		app, form, ok := strings.Cut(filter, "/")
		if !ok || app == "" || form == "" {
			return badRequest(engine.T("筛选条件应为 应用/表单", "the filter must be app/form"))
		}
		q.App, q.Form = app, form
	}
	list, err := w.Tasks(ctx, p, q)
	if err != nil {
		return err
	}
	// the filter offers every app/form the user has tasks in
	all, err := w.Tasks(ctx, p, workflow.TaskQuery{Limit: 1000})
	if err != nil {
		return err
	}
	name := s.actorNames(c)
	titles := map[string]string{}
	title := func(app, form string) string {
		k := app + "/" + form
		if t, ok := titles[k]; ok {
			return t
		}
		t := w.FormTitle(ctx, app, form).In(lang)
		titles[k] = t
		return t
	}
	v := web.TasksPage{Page: s.page(c, web.Msg(lang, "tasks.title")), Tab: tab, OpenCount: list.Open, DoneCount: list.Done,
		Filter: filter, Results: results}
	v.Scripts = []string{"tasks.js"}
	v.Styles = []string{"tasks.css"}
	tabURL := func(t string) string {
		u := url.Values{"tab": {t}}
		if filter != "" {
			u.Set("form", filter)
		}
		return "/tasks?" + u.Encode()
	}
	v.OpenURL, v.DoneURL = tabURL("open"), tabURL("done")
	seen := map[string]bool{}
	for _, t := range all.Items {
		k := t.App + "/" + t.Form
		if !seen[k] {
			seen[k] = true
			v.Filters = append(v.Filters, web.Option{Value: k, Label: title(t.App, t.Form), Selected: k == filter})
		}
	}
	slices.SortFunc(v.Filters, func(a, b web.Option) int { return strings.Compare(a.Label, b.Label) })
	if filter != "" && !seen[filter] {
		v.Filters = append(v.Filters, web.Option{Value: filter, Label: filter, Selected: true})
	}
	if done := c.QueryParam("done"); done != "" {
		if _, ok := taskActions[done]; ok {
			v.Flash = web.Msg(lang, "tasks.done_"+done)
		}
	}
	now := s.now()
	sums, err := w.TaskSummaries(ctx, p, list.Items)
	if err != nil {
		return err
	}
	for i, t := range list.Items {
		row := web.TaskRow{ID: t.ID, CheckID: "task-" + strconv.Itoa(i), URL: taskURL(t.ID), Workflow: textOr(&t.WorkflowNm, t.Workflow, lang),
			Node: textOr(t.NodeName, t.Node, lang), Form: title(t.App, t.Form), Submitter: name(t.Submitter), Created: fmtTime(t.CreatedAt),
			Status: web.Msg(lang, "tasks.st."+t.Status), Escalated: t.Escalated, Title: sums[t.ID].Title}
		if sum := sums[t.ID]; sum.AmountField != nil {
			row.Amount = web.DisplayValue(lang, sum.AmountField, sum.Amount)
		}
		if t.DueAt != nil {
			row.Due = fmtTime(*t.DueAt)
			row.Overdue = t.Status == workflow.TaskOpen && now.After(*t.DueAt)
		}
		if t.DoneAt != nil {
			row.Done = fmtTime(*t.DoneAt)
		}
		v.Rows = append(v.Rows, row)
	}
	return Render(c, status, web.TasksView(v))
}

// batchApprovePage approves the checked tasks, each on its own, and shows
// the inbox with one line per task that could not be approved.
func (s *server) batchApprovePage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	lang := pageLang(c)
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	ids := vals["ids"]
	if len(ids) == 0 || len(ids) > 200 {
		return badRequest(engine.T("请选择 1 到 200 个任务", "choose 1 to 200 tasks"))
	}
	comment := vals.Get("comment")
	if len([]rune(comment)) > workflow.MaxCommentLength {
		return badRequest(engine.Tf("意见最多 %d 个字", "a comment has at most %d characters", workflow.MaxCommentLength))
	}
	res := w.BatchApprove(c.Request().Context(), principal(c), ids, comment)
	ok := 0
	var lines []string
	for _, r := range res {
		if r.OK {
			ok++
			continue
		}
		lines = append(lines, r.Task+": "+web.Msg(lang, "tasks.batch_failed")+" — "+engine.ErrorMessage(r.Error, lang))
	}
	lines = append([]string{web.Msg(lang, "tasks.batch_ok") + ": " + strconv.Itoa(ok) + " / " + strconv.Itoa(len(res))}, lines...)
	return s.renderTasks(c, http.StatusOK, lines)
}

func (s *server) taskPage(c echo.Context) error {
	return s.renderTask(c, http.StatusOK, c.Param("id"), nil, nil, "")
}

// renderTask draws one task with data (the posted values of the fields
// the node lets the approver edit, nil for the stored ones) and errs.
func (s *server) renderTask(c echo.Context, status int, id string, data map[string]any, errs []engine.FieldError, comment string) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	d, err := w.Task(ctx, p, id)
	if err != nil {
		return err
	}
	t, fv := d.Task, d.View
	name := s.actorNames(c)
	heading := textOr(&t.WorkflowNm, t.Workflow, lang) + " · " + textOr(t.NodeName, t.Node, lang)
	v := web.TaskPage{Page: s.page(c, heading), Heading: heading, BackURL: "/tasks", ActionBase: taskURL(t.ID) + "/",
		Open: t.Status == workflow.TaskOpen, Status: web.Msg(lang, "tasks.st."+t.Status), Comment: comment}
	v.Scripts = []string{"tasks.js"}
	v.Styles = []string{"tasks.css"}
	if c.QueryParam("done") != "" {
		if _, ok := taskActions[c.QueryParam("done")]; ok {
			v.Flash = web.Msg(lang, "tasks.done_"+c.QueryParam("done"))
		}
	}
	if s.canRead(c, t.App, t.Form) {
		v.RecordURL = recordPageURL(t.App, t.Form, t.Record)
	}
	v.Meta = []web.Value{
		{Label: web.Msg(lang, "tasks.form"), Value: w.FormTitle(ctx, t.App, t.Form).In(lang)},
		{Label: web.Msg(lang, "tasks.submitter"), Value: name(t.Submitter)},
		{Label: web.Msg(lang, "tasks.created"), Value: fmtTime(t.CreatedAt)},
		{Label: web.Msg(lang, "tasks.status"), Value: web.Msg(lang, "tasks.st."+t.Status)},
		{Label: web.Msg(lang, "tasks.record_status"), Value: web.StatusLabel(lang, d.Record.Status)},
	}
	if t.DueAt != nil {
		v.Meta = append(v.Meta, web.Value{Label: web.Msg(lang, "tasks.due"), Value: fmtTime(*t.DueAt)})
	}
	if t.From != "" {
		v.Meta = append(v.Meta, web.Value{Label: web.Msg(lang, "record.by"), Value: name(t.From)})
	}
	// read-only values as the node shows them (masked ones as masked
	// text); the editable ones as inputs when the task is open
	var edit []*engine.FieldView
	for _, f := range fv.Fields {
		if f.Perm == engine.PermEdit && v.Open && f.Field.Widget != engine.WidgetFormula && f.Field.Widget != engine.WidgetSerial {
			edit = append(edit, f)
			continue
		}
		val, ok := d.Record.Data[f.Field.Key]
		if !ok {
			continue
		}
		item := web.Value{Label: f.Field.LabelOr().In(lang), Value: web.DisplayValue(lang, f.Field, val)}
		if l, ok := d.Labels[f.Field.Key]; ok {
			item.Value = l.In(lang)
		}
		v.Values = append(v.Values, item)
	}
	if len(edit) > 0 {
		shown := map[string]any{}
		for _, f := range edit {
			if val, ok := d.Record.Data[f.Field.Key]; ok {
				shown[f.Field.Key] = val
			}
		}
		for k, val := range data {
			shown[k] = val
		}
		var other []string
		picked := map[string]string{}
		for k, l := range d.Labels {
			picked[k] = l.In(lang)
		}
		v.Sections, other = web.BuildForm(web.FormInput{Lang: lang, Fields: edit, Data: shown, Errors: errs, Picked: picked})
		v.Errors = append(v.Errors, other...)
	} else {
		for _, e := range errs {
			v.Errors = append(v.Errors, e.Message.In(lang))
		}
	}
	for _, r := range d.Returnable {
		v.Returnable = append(v.Returnable, web.Option{Value: r.Key, Label: textOr(r.Name, r.Key, lang)})
	}
	if v.Open {
		v.Users = s.userOptions(c, p.User.ID, d.Task.Submitter)
	}
	tl := make([]workflow.TimelineEntry, 0, len(d.Steps))
	for _, st := range d.Steps {
		tl = append(tl, workflow.TimelineEntry{At: st.At, Kind: st.Kind, Actor: st.Actor, Node: st.Node, Users: st.Users, Comment: st.Comment, Detail: st.Detail})
	}
	v.Steps = s.flowSteps(c, tl, fv.Form, d.Fields, nodeNames(d))
	return Render(c, status, web.TaskView(v))
}

// nodeNames maps the node keys of a task's workflow that the task knows
// to their names.
func nodeNames(d *workflow.TaskDetail) map[string]*engine.Text {
	m := map[string]*engine.Text{d.Task.Node: d.Task.NodeName}
	for _, r := range d.Returnable {
		m[r.Key] = r.Name
	}
	return m
}

// canRead reports whether p may open the form's records (so a link to
// the record page leads somewhere).
func (s *server) canRead(c echo.Context, app, form string) bool {
	apps, err := s.svc.ListApps(c.Request().Context(), principal(c))
	if err != nil {
		return false
	}
	for _, a := range apps {
		if a.Key != app {
			continue
		}
		for _, f := range a.Forms {
			if f.Key == form {
				return f.CanRead
			}
		}
	}
	return false
}

// userOptions lists the active users a task may be offered to, by email:
// everyone but the viewer and the record's submitter, whom the runtime
// refuses (it also refuses those who may not read the record, which this
// list does not work out for every user).
func (s *server) userOptions(c echo.Context, self, submitter string) []web.Option {
	users, err := s.org.ListUsers(c.Request().Context(), "")
	if err != nil {
		s.log.Warn("task page: users", "err", err)
		return nil
	}
	var out []web.Option
	for _, u := range users {
		if u.Frozen || u.ID == self || u.ID == submitter {
			continue
		}
		out = append(out, web.Option{Value: u.Email, Label: u.Name})
		if len(out) == 500 {
			break
		}
	}
	return out
}

// flowSteps turns timeline entries into display lines. perms is what the
// viewer may see of the form's fields: changed fields outside it are not
// named.
func (s *server) flowSteps(c echo.Context, tl []workflow.TimelineEntry, f *engine.Form, perms map[string]string, names map[string]*engine.Text) []web.FlowStep {
	lang := pageLang(c)
	name := s.actorNames(c)
	label := func(key string) (string, bool) {
		if _, ok := perms[key]; !ok {
			return "", false
		}
		if f != nil {
			if fd := f.Field(key); fd != nil {
				return fd.LabelOr().In(lang), true
			}
		}
		return key, true
	}
	labels := func(keys []string) string {
		var out []string
		for _, k := range keys {
			if l, ok := label(k); ok {
				out = append(out, l)
			}
		}
		return strings.Join(out, ", ")
	}
	out := make([]web.FlowStep, 0, len(tl))
	for _, e := range tl {
		st := web.FlowStep{At: fmtTime(e.At), Kind: e.Kind, What: web.Msg(lang, "tasks.step."+e.Kind), Comment: e.Comment}
		if e.Actor != "" && e.Actor != engine.SystemActor {
			st.Actor = name(e.Actor)
		}
		if e.Node != "" {
			n := e.NodeName
			if n == nil {
				n = names[e.Node]
			}
			st.Node = textOr(n, e.Node, lang)
		}
		var us []string
		for _, u := range e.Users {
			us = append(us, name(u))
		}
		st.Users = strings.Join(us, ", ")
		switch e.Kind {
		case "update", "create", "restore":
			st.Detail = labels(e.Fields)
			if e.Withheld {
				st.Detail = strings.TrimPrefix(st.Detail+"; "+web.Msg(lang, "record.withheld"), "; ")
			}
		case "return":
			if to, ok := e.Detail["to"].(string); ok {
				st.Detail = "→ " + textOr(names[to], to, lang)
			}
		case "escalate":
			if r, ok := e.Detail["reason"].(string); ok {
				st.Detail = web.Msg(lang, "tasks.reason."+strings.ReplaceAll(r, " ", "_"))
			}
		case "set":
			if fs, ok := e.Detail["fields"].([]any); ok {
				var keys []string
				for _, k := range fs {
					if ks, ok := k.(string); ok {
						keys = append(keys, ks)
					}
				}
				st.Detail = labels(keys)
			} else if fs, ok := e.Detail["fields"].([]string); ok {
				st.Detail = labels(fs)
			}
			if e.Withheld {
				st.Detail = strings.TrimPrefix(st.Detail+"; "+web.Msg(lang, "record.withheld"), "; ")
			}
		}
		out = append(out, st)
	}
	return out
}

// taskActionPage runs one decision posted from a task page (or the
// record page's panel). Refusals the approver can mend — rules refusing
// an edit, a field the step may not change, a missing target — show the
// task page again with the message next to the field.
func (s *server) taskActionPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	id := c.Param("id")
	action, ok := taskActions[c.Param("action")]
	if !ok {
		return engine.Errorf(engine.ENOTFOUND, engine.T("没有这个操作", "no such action"))
	}
	vals, err := c.FormParams()
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return errTooLarge(0)
		}
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	in := workflow.TaskInput{Comment: strings.TrimSpace(vals.Get("comment")), To: strings.TrimSpace(vals.Get("to"))}
	var data map[string]any
	if action == workflow.ActionApprove && vals.Get("back") != "record" {
		d, err := w.Task(ctx, p, id)
		if err != nil {
			return err
		}
		var edit []*engine.FieldView
		for _, f := range d.View.Fields {
			if f.Perm == engine.PermEdit {
				edit = append(edit, f)
			}
		}
		var perrs []engine.FieldError
		data, perrs = web.ParseForm(lang, edit, vals)
		if len(perrs) > 0 {
			return s.renderTask(c, http.StatusUnprocessableEntity, id, data, perrs, in.Comment)
		}
		// only the values that differ from the stored ones are edits
		for k, val := range data {
			if old, ok := d.Record.Data[k]; ok && engine.DiffData(map[string]any{k: old}, map[string]any{k: val}) == nil {
				delete(data, k)
			}
		}
		if len(data) > 0 {
			in.Data = data
		}
	}
	if action == workflow.ActionComment && in.Comment == "" {
		return s.renderTask(c, http.StatusUnprocessableEntity, id, nil,
			[]engine.FieldError{{Field: "/comment", Code: "required", Message: engine.T("请填写意见", "the comment is empty")}}, "")
	}
	t, err := w.Act(ctx, p, id, action, in)
	if err != nil {
		switch engine.ErrorCode(err) {
		case engine.EINVALID, engine.EFORBIDDEN, engine.ECONFLICT:
			errs := engine.ErrorFields(err)
			if len(errs) == 0 {
				errs = []engine.FieldError{{Message: engine.T(engine.ErrorMessage(err, "zh"), engine.ErrorMessage(err, "en"))}}
			} else {
				// the field errors come with the headline
				errs = append([]engine.FieldError{{Message: engine.T(engine.ErrorMessage(err, "zh"), engine.ErrorMessage(err, "en"))}}, errs...)
			}
			return s.renderTask(c, statusOf(engine.ErrorCode(err)), id, data, errs, in.Comment)
		}
		return err
	}
	switch {
	case vals.Get("back") == "record":
		return c.Redirect(http.StatusSeeOther, recordPageURL(t.App, t.Form, t.Record)+"#flow")
	case action == workflow.ActionComment || action == workflow.ActionAddSigner:
		return c.Redirect(http.StatusSeeOther, taskURL(id)+"?done="+c.Param("action"))
	}
	return c.Redirect(http.StatusSeeOther, "/tasks?done="+c.Param("action"))
}

// withdrawPage: the submitter withdraws a record under review from its
// page.
func (s *server) withdrawPage(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	comment := strings.TrimSpace(c.FormValue("comment"))
	if len([]rune(comment)) > workflow.MaxCommentLength {
		return badRequest(engine.Tf("意见最多 %d 个字", "a comment has at most %d characters", workflow.MaxCommentLength))
	}
	if err := w.Withdraw(c.Request().Context(), principal(c), app, form, id, comment); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, recordPageURL(app, form, id)+"#flow")
}

// recordFlowPanel is the workflow section of a record's page (timeline,
// where the approval stands and who is to decide, the viewer's open task
// actions and the submitter's withdraw button), or nil when the record
// never ran a workflow. The caller has already read the record through
// engine.Service; changed fields are named only when the viewer may see
// them.
func (s *server) recordFlowPanel(c echo.Context, app, form, id string) templ.Component {
	w := s.wf
	if w == nil {
		return nil
	}
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	fl, err := w.RecordFlow(ctx, p, app, form, id)
	if err != nil {
		if engine.ErrorCode(err) != engine.ENOTFOUND {
			s.log.Warn("record flow", "err", err)
		}
		return nil
	}
	if fl.Instances == 0 {
		return nil
	}
	fv, err := s.svc.RecordFormView(ctx, p, app, form, id)
	if err != nil {
		return nil
	}
	name := s.actorNames(c)
	csrf := ""
	if a := authOf(c); a != nil && a.session != nil {
		csrf = a.session.CSRF
	}
	v := web.FlowPanel{Lang: lang, CSRF: csrf, Status: web.Msg(lang, "tasks.st."+fl.Status)}
	names := map[string]*engine.Text{}
	for _, a := range fl.Active {
		names[a.Node] = a.NodeName
		var pend, queued []string
		for _, u := range a.Pending {
			pend = append(pend, name(u))
		}
		for _, u := range a.Queued {
			queued = append(queued, name(u))
		}
		fa := web.FlowActive{Workflow: textOr(&a.WorkflowName, a.Workflow, lang), Node: textOr(a.NodeName, a.Node, lang),
			Mode: web.Msg(lang, "tasks.mode."+a.Mode), Pending: strings.Join(pend, ", "), Queued: strings.Join(queued, ", ")}
		if a.DueAt != nil {
			fa.Due = fmtTime(*a.DueAt)
		}
		v.Active = append(v.Active, fa)
	}
	for _, t := range fl.MyTasks {
		v.MyTasks = append(v.MyTasks, web.FlowTask{Node: textOr(t.NodeName, t.Node, lang), URL: taskURL(t.ID),
			ApproveURL: taskURL(t.ID) + "/approve", RejectURL: taskURL(t.ID) + "/reject"})
	}
	if fl.CanWithdraw {
		v.WithdrawURL = recordPageURL(app, form, id) + "/withdraw"
	}
	for _, e := range fl.Timeline {
		if e.Node != "" && e.NodeName != nil {
			names[e.Node] = e.NodeName
		}
	}
	v.Steps = s.flowSteps(c, fl.Timeline, fv.Form, fv.Perms, names)
	return web.FlowPanelView(v)
}

// grantRequestPage is the form to ask for temporary access, with the
// user's requests below it.
func (s *server) grantRequestPage(c echo.Context) error {
	return s.renderGrantRequest(c, http.StatusOK, nil, nil)
}

// renderGrantRequest draws the request page; posted holds the values of a
// refused request to show again.
func (s *server) renderGrantRequest(c echo.Context, status int, posted url.Values, errs []engine.FieldError) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	forms, err := w.RequestableForms(ctx, p)
	if err != nil {
		return err
	}
	v := web.GrantRequestPage{Page: s.page(c, web.Msg(lang, "tasks.grant.title")), Days: "7"}
	v.Styles = []string{"tasks.css"}
	if c.QueryParam("sent") != "" {
		v.Flash = web.Msg(lang, "tasks.grant.sent")
	}
	target := c.QueryParam("target")
	ops := []string{engine.OpRead}
	scope := engine.ScopeOwn
	if posted != nil {
		target, ops, scope = posted.Get("target"), posted["operations"], posted.Get("scope")
		v.Reason, v.Days = posted.Get("reason"), posted.Get("days")
	}
	for _, f := range forms {
		val := f.App + "/" + f.Form
		v.Forms = append(v.Forms, web.Option{Value: val, Label: f.AppName.In(lang) + " / " + f.Title.In(lang), Selected: val == target})
	}
	for _, op := range []string{engine.OpRead, engine.OpCreate, engine.OpUpdate, engine.OpDelete, engine.OpExport, engine.OpImport, engine.OpPrint} {
		v.Ops = append(v.Ops, web.Option{Value: op, ID: "grant-op-" + op, Label: web.Msg(lang, "tasks.grant.op."+op), Selected: slices.Contains(ops, op)})
	}
	for _, sc := range []string{engine.ScopeOwn, engine.ScopeUnit, engine.ScopeUnitAndBelow, engine.ScopeAll} {
		v.Scopes = append(v.Scopes, web.Option{Value: sc, Label: web.Msg(lang, "tasks.grant.scope."+sc), Selected: sc == scope})
	}
	for _, e := range errs {
		v.Errors = append(v.Errors, e.Message.In(lang))
	}
	reqs, err := w.GrantRequests(ctx, p)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		v.Requests = append(v.Requests, web.GrantRequestRow{ID: r.ID, What: grantWhat(c, w, lang, r), Scope: web.Msg(lang, "tasks.grant.scope."+r.Scope), Reason: r.Reason,
			Expires: r.ExpiresAt, Status: web.Msg(lang, "tasks.st."+r.Status), Created: fmtTime(r.CreatedAt), Grant: r.Grant})
	}
	if v.Pending, err = s.pendingRequestRows(c, w, true); err != nil {
		return err
	}
	return Render(c, status, web.GrantRequestView(v))
}

// grantWhat says what a request asks for: the form and the operations.
func grantWhat(c echo.Context, w *workflow.Runtime, lang string, r *workflow.GrantRequest) string {
	var opl []string
	for _, op := range r.Ops {
		opl = append(opl, web.Msg(lang, "tasks.grant.op."+op))
	}
	what := w.FormTitle(c.Request().Context(), r.App, r.Form).In(lang)
	if len(opl) > 0 {
		what += " · " + strings.Join(opl, ", ")
	}
	if len(r.Fields) > 0 {
		var fs []string
		for _, k := range slices.Sorted(maps.Keys(r.Fields)) {
			fs = append(fs, k+"="+r.Fields[k])
		}
		what += " · " + strings.Join(fs, ", ")
	}
	return what
}

// pendingRequestRows lists the grant requests waiting for approval that
// the viewer may see (every one for an administrator, else those waiting
// for them), each linked to the viewer's task on it or, for one they do
// not hold, to the request's record page; onlyMine keeps those they hold.
func (s *server) pendingRequestRows(c echo.Context, w *workflow.Runtime, onlyMine bool) ([]web.PendingRequestRow, error) {
	pending, err := w.PendingGrantRequests(c.Request().Context(), principal(c))
	if err != nil {
		return nil, err
	}
	lang := pageLang(c)
	name := s.actorNames(c)
	var out []web.PendingRequestRow
	for _, r := range pending {
		if onlyMine && r.Task == "" {
			continue
		}
		var waiting []string
		for _, a := range r.Assignees {
			waiting = append(waiting, name(a))
		}
		row := web.PendingRequestRow{ID: r.ID, User: name(r.User), What: grantWhat(c, w, lang, &r.GrantRequest), Scope: web.Msg(lang, "tasks.grant.scope."+r.Scope),
			Reason: r.Reason, Expires: r.ExpiresAt, Created: fmtTime(r.CreatedAt), WaitingFor: strings.Join(waiting, ", ")}
		if r.Task != "" {
			row.ActURL, row.Decide = "/tasks/"+url.PathEscape(r.Task), true
		} else {
			row.ActURL = "/apps/" + workflow.AccessApp + "/forms/" + workflow.AccessRequestForm + "/records/" + url.PathEscape(r.ID)
		}
		out = append(out, row)
	}
	return out, nil
}

// grantRequestSubmit files a request from the page; a refused one is
// shown again with the reasons.
func (s *server) grantRequestSubmit(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	app, form, _ := strings.Cut(vals.Get("target"), "/")
	in := workflow.GrantRequestInput{App: app, Form: form, Ops: vals["operations"], Scope: vals.Get("scope"), Reason: vals.Get("reason")}
	days, err := strconv.Atoi(strings.TrimSpace(vals.Get("days")))
	if err != nil || days < 1 || days > 30 {
		return s.renderGrantRequest(c, http.StatusUnprocessableEntity, vals,
			[]engine.FieldError{{Field: "/days", Code: "range", Message: engine.T(web.Msg(web.LangZh, "tasks.grant.bad_days"), web.Msg(web.LangEn, "tasks.grant.bad_days"))}})
	}
	in.ExpiresAt = s.now().Add(time.Duration(days) * 24 * time.Hour)
	if _, err := w.RequestGrant(c.Request().Context(), principal(c), in); err != nil {
		if engine.ErrorCode(err) == engine.EINVALID {
			return s.renderGrantRequest(c, http.StatusUnprocessableEntity, vals, engine.ErrorFields(err))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/access/requests?sent=1")
}
