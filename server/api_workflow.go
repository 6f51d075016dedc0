package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/engine/workflow"
)

// bindWorkflowRoutes binds the approval API of API.md, each route behind mw
// (the routes' authentication): the caller's tasks, task actions, a
// record's timeline, withdrawal and in-app notifications. The runtime is
// the one cmd/formwork wired in (Deps.Workflows); without it these answer
// 503.
func (s *server) bindWorkflowRoutes(e *echo.Echo, mw []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/tasks", s.listTasks, mw...)
	e.POST(v1+"/tasks/approve", s.batchApprove, mw...)
	e.GET(v1+"/tasks/:id", s.getTask, mw...)
	e.POST(v1+"/tasks/:id/:action", s.taskAction, mw...)
	e.GET(v1+"/apps/:app/forms/:form/records/:id/timeline", s.recordTimeline, mw...)
	e.POST(v1+"/apps/:app/forms/:form/records/:id/withdraw", s.withdrawRecord, mw...)
	e.GET(v1+"/notifications", s.listNotifications, mw...)
	e.POST(v1+"/notifications/read", s.readNotifications, mw...)
	e.GET(v1+"/access/requests", s.listGrantRequests, mw...)
	e.POST(v1+"/access/requests", s.requestGrant, mw...)
	e.POST(v1+"/users/:id/tasks/reassign", s.handOverTasks, mw...)
}

// handOverTasks moves a frozen user's open approval tasks to {"to": id or
// email} → 200 with what moved and what stayed, and why (admin, checked by
// the runtime).
func (s *server) handOverTasks(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	var in struct {
		To string `json:"to"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := w.HandOverTasks(c.Request().Context(), principal(c), c.Param("id"), in.To)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) workflows() (*workflow.Runtime, error) {
	w := s.wf
	if w == nil {
		return nil, engine.Errorf(engine.EUNAVAILABLE, engine.T("审批流程未启用", "workflows are not enabled on this server"))
	}
	return w, nil
}

// decodeOptional decodes a JSON body into v when there is one; an empty
// body leaves v as it is.
func (s *server) decodeOptional(c echo.Context, v any) error {
	r := c.Request()
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return s.decodeJSON(c, v)
}

// listTasks: ?status=open|done&app=&form=&limit= → {"items", "open", "done"}.
func (s *server) listTasks(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	q := workflow.TaskQuery{Status: c.QueryParam("status"), App: c.QueryParam("app"), Form: c.QueryParam("form")}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest(engine.T("limit 须为 1 到 1000 的整数", "limit must be a whole number from 1 to 1000"),
				engine.FieldError{Field: "limit", Code: "range", Message: engine.T("limit 超出范围", "limit out of range")})
		}
		q.Limit = n
	}
	list, err := w.Tasks(c.Request().Context(), principal(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

func (s *server) getTask(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	d, err := w.Task(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

var taskActions = map[string]string{
	"approve": workflow.ActionApprove, "reject": workflow.ActionReject, "return": workflow.ActionReturn, "transfer": workflow.ActionTransfer,
	"add_signer": workflow.ActionAddSigner, "comment": workflow.ActionComment,
}

// taskAction: POST /tasks/{id}/{approve,reject,return,transfer,add_signer,comment}
// with {"comment"?, "to"?, "data"?} → the task.
func (s *server) taskAction(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	action, ok := taskActions[c.Param("action")]
	if !ok {
		return engine.Errorf(engine.ENOTFOUND, engine.T("没有这个操作", "no such action"))
	}
	var in workflow.TaskInput
	if err := s.decodeOptional(c, &in); err != nil {
		return err
	}
	t, err := w.Act(c.Request().Context(), principal(c), c.Param("id"), action, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type batchBody struct {
	IDs     []string `json:"ids"`
	Comment string   `json:"comment"`
}

// batchApprove: POST /tasks/approve {"ids": […], "comment"?} → {"items": [{"task", "ok", "error"?}]}.
func (s *server) batchApprove(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	var in batchBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.IDs) == 0 || len(in.IDs) > 200 {
		return badRequest(engine.T("ids 须包含 1 到 200 个任务", "ids must list 1 to 200 tasks"),
			engine.FieldError{Field: "/ids", Code: "range", Message: engine.T("任务数超出范围", "wrong number of tasks")})
	}
	res := w.BatchApprove(c.Request().Context(), principal(c), in.IDs, in.Comment)
	return c.JSON(http.StatusOK, map[string]any{"items": res})
}

func (s *server) recordTimeline(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	tl, err := w.Timeline(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": tl})
}

type commentBody struct {
	Comment string `json:"comment"`
}

// withdrawRecord: the submitter withdraws a record under review → 204.
func (s *server) withdrawRecord(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	var in commentBody
	if err := s.decodeOptional(c, &in); err != nil {
		return err
	}
	if err := w.Withdraw(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), in.Comment); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listNotifications: ?unread=true → {"items", "unread"}.
func (s *server) listNotifications(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	unreadOnly, _ := strconv.ParseBool(c.QueryParam("unread"))
	ctx := c.Request().Context()
	items, err := w.Notifications(ctx, principal(c), unreadOnly, 100)
	if err != nil {
		return err
	}
	n, err := w.UnreadCount(ctx, principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "unread": n})
}

type idsBody struct {
	IDs []string `json:"ids"`
}

// readNotifications: {"ids"?} marks those (or all) read → 204.
func (s *server) readNotifications(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	var in idsBody
	if err := s.decodeOptional(c, &in); err != nil {
		return err
	}
	if err := w.MarkRead(c.Request().Context(), principal(c), in.IDs...); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// requestGrant: POST /access/requests {"app", "form", "operations"?,
// "fields"?, "scope"?, "reason", "expires_at"} → 201 with the request.
func (s *server) requestGrant(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	var in workflow.GrantRequestInput
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := w.RequestGrant(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

// listGrantRequests: the caller's own requests → {"items"}.
func (s *server) listGrantRequests(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	items, err := w.GrantRequests(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
