package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine"
)

// bindDesignerRoutes binds the draft API of API.md ("Designing apps"):
// a draft per app, saved whole or patched (RFC 6902), its diff against the
// published version, publishing, the versions and restoring one into the
// draft. The designer package decides who may design (administrators and
// the app's named designers); user only asks for a signed-in caller.
func (s *server) bindDesignerRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	user = append(slices.Clone(user), s.designerOn)
	e.GET(v1+"/apps/:app/draft", s.getDraft, user...)
	e.PUT(v1+"/apps/:app/draft", s.putDraft, user...)
	e.PATCH(v1+"/apps/:app/draft", s.patchDraft, user...)
	e.GET(v1+"/apps/:app/draft/diff", s.draftDiff, user...)
	e.POST(v1+"/apps/:app/draft/publish", s.publishDraft, user...)
	e.POST(v1+"/apps/:app/draft/preview", s.previewDraft, user...)
	e.POST(v1+"/apps/:app/draft/sheet", s.draftFromSheet, user...)
	e.POST(v1+"/apps/:app/draft/simulate", s.simulateDraft, user...)
	e.POST(v1+"/apps/:app/draft/rule", s.checkRule, user...)
	e.POST(v1+"/apps/:app/draft/key", s.suggestKey, user...)
	e.GET(v1+"/apps/:app/versions", s.appVersions, user...)
	e.POST(v1+"/apps/:app/versions/:n/restore", s.restoreVersion, user...)
	e.GET(v1+"/apps/:app/designers", s.appDesigners, user...)
	e.PUT(v1+"/apps/:app/designers", s.setAppDesigners, user...)
}

// designerOn refuses the designer's routes with 503 when the process runs
// without a designer (as the workflow routes do without a runtime).
func (s *server) designerOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.designer == nil {
			return engine.Errorf(engine.EUNAVAILABLE, engine.T("设计器未启用", "the designer is not enabled on this server"))
		}
		return next(c)
	}
}

// draftOut is a draft as the API answers it: its version is also the ETag
// a change must send back in If-Match.
func draftOut(c echo.Context, status int, d any, version int64) error {
	c.Response().Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
	return c.JSON(status, d)
}

// getDraft answers the app's draft, or the published bundle as version 0.
func (s *server) getDraft(c echo.Context) error {
	d, err := s.designer.Draft(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return draftOut(c, http.StatusOK, d, d.Version)
}

// putDraft saves a whole bundle as the draft; If-Match names the draft
// version the caller saw (none for the first draft of an app).
func (s *server) putDraft(c echo.Context) error {
	return s.writeDraft(c, false, s.designer.Save)
}

// patchDraft applies a JSON Patch (application/json-patch+json) to the
// draft at the version of If-Match (required).
func (s *server) patchDraft(c echo.Context) error {
	return s.writeDraft(c, true, s.designer.Patch)
}

// writeDraft reads If-Match and the body and hands them to save (the
// designer's Save or Patch) → 200 {"version", "problems"} with the new
// version as ETag.
func (s *server) writeDraft(c echo.Context, ifMatchRequired bool,
	save func(ctx context.Context, p *engine.Principal, app string, body []byte, ifMatch int64) (*designer.Draft, error)) error {
	v, err := ifMatch(c, ifMatchRequired)
	if err != nil {
		return err
	}
	b, err := readJSONBody(c.Request())
	if err != nil {
		return err
	}
	if err := checkDepth(b, 64); err != nil {
		return err
	}
	d, err := save(c.Request().Context(), principal(c), c.Param("app"), b, v)
	if err != nil {
		return err
	}
	return draftOut(c, http.StatusOK, map[string]any{"version": d.Version, "problems": d.Problems}, d.Version)
}

// draftDiff answers the draft's changes against the published version,
// in plain words, and the records they would orphan.
func (s *server) draftDiff(c echo.Context) error {
	d, err := s.designer.Diff(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// publishDraft publishes the draft as the app's next version: 422 with
// the problems when invalid, 409 when it would orphan data and
// {"confirm": true} was not given. {"sample_data": true} also imports the
// bundle's sample records with a first version (201 carries the job).
func (s *server) publishDraft(c echo.Context) error {
	var in struct {
		Confirm    bool `json:"confirm"`
		SampleData bool `json:"sample_data"`
	}
	if err := s.decodeOptional(c, &in); err != nil {
		return err
	}
	v, err := s.designer.Publish(c.Request().Context(), principal(c), c.Param("app"), designer.PublishOptions{Confirm: in.Confirm, SampleData: in.SampleData})
	if err != nil {
		return err
	}
	loc := "/api/v1/apps/" + v.Key + "/bundle"
	if v.Job != "" {
		loc = "/api/v1/import-jobs/" + v.Job
	}
	c.Response().Header().Set("Location", loc)
	return c.JSON(http.StatusCreated, v)
}

// previewDraft shows a form of the draft as a role in a unit or a real
// user would see it: {"form", "as": {"user"} or {"role", "unit"}, "data"?}.
func (s *server) previewDraft(c echo.Context) error {
	var in struct {
		Form string                `json:"form"`
		As   engine.PreviewSubject `json:"as"`
		Data map[string]any        `json:"data"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	pv, err := s.designer.Preview(c.Request().Context(), principal(c), c.Param("app"), in.Form, in.As, in.Data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pv)
}

// simulateDraft shows the path a record would take through a workflow of
// the draft: {"workflow", "as": {"user"} or {"role", "unit"}, "data"?}.
func (s *server) simulateDraft(c echo.Context) error {
	var in struct {
		Workflow string                `json:"workflow"`
		As       engine.PreviewSubject `json:"as"`
		Data     map[string]any        `json:"data"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	sim, err := s.designer.Simulate(c.Request().Context(), principal(c), c.Param("app"), in.Workflow, in.As, in.Data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sim)
}

// checkRule compiles a rule of the draft as the manager builds it (rows or
// an expression) and tries it on sample values: {"form", "rows"? or
// "expr"?, "want"?, "data"?} → {"expr", "rows"?, "problems", "value"?}.
func (s *server) checkRule(c echo.Context) error {
	var in designer.RuleCheck
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.designer.CheckRule(c.Request().Context(), principal(c), c.Param("app"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// suggestKey proposes a new field's key from its label (pinyin for
// Chinese), free in the form: {"form", "label"} → {"key"}.
func (s *server) suggestKey(c echo.Context) error {
	var in struct {
		Form  string `json:"form"`
		Label string `json:"label"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	key, err := s.designer.SuggestKey(c.Request().Context(), principal(c), c.Param("app"), in.Form, in.Label)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"key": key})
}

// draftFromSheet starts a new app's draft from a spreadsheet: multipart
// "file" (.xlsx or .csv), "name_zh", "name_en" → 200 {"version",
// "problems", "columns", "rows"}: the header row became the fields, the
// rows the sample data that publishing with sample data imports.
func (s *server) draftFromSheet(c echo.Context) error {
	mf, err := multipartForm(c)
	if err != nil {
		return err
	}
	file, err := onlyFile(mf)
	if err != nil {
		return err
	}
	f, err := file.Open()
	if err != nil {
		return badRequest(engine.T("上传内容无法解析", "the upload could not be read"))
	}
	defer f.Close()
	zh, en := eachOther(strings.TrimSpace(first(mf.Value["name_zh"])), strings.TrimSpace(first(mf.Value["name_en"])))
	if zh == "" {
		msg := engine.T("请填写应用名称", "give the app a name")
		return engine.Invalid(engine.FieldError{Field: "/name_zh", Code: "required", Message: msg})
	}
	d, sa, err := s.designer.StartFromSheet(c.Request().Context(), principal(c), c.Param("app"), engine.T(zh, en), file.Filename, f)
	if err != nil {
		return err
	}
	return draftOut(c, http.StatusOK, map[string]any{"version": d.Version, "problems": d.Problems, "columns": sa.Columns, "rows": sa.Rows}, d.Version)
}

// appVersions lists the app's published versions, newest first.
func (s *server) appVersions(c echo.Context) error {
	vs, err := s.designer.Versions(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": vs})
}

// restoreVersion puts published version n into the draft.
func (s *server) restoreVersion(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		msg := engine.T("版本号须为正整数", "the version must be a positive number")
		return badRequest(msg, engine.FieldError{Field: "/n", Code: "type", Message: msg})
	}
	d, err := s.designer.Restore(c.Request().Context(), principal(c), c.Param("app"), n)
	if err != nil {
		return err
	}
	return draftOut(c, http.StatusOK, map[string]any{"version": d.Version, "problems": d.Problems}, d.Version)
}

// appDesigners lists who may design the app besides the administrators.
func (s *server) appDesigners(c echo.Context) error {
	us, err := s.designer.Designers(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	if us == nil {
		us = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{"users": us})
}

// setAppDesigners names the app's designers (administrators; the designer
// package checks): {"users": [id or email, …]}.
func (s *server) setAppDesigners(c echo.Context) error {
	var in struct {
		Users []string `json:"users"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.designer.SetDesigners(c.Request().Context(), principal(c), c.Param("app"), in.Users); err != nil {
		return err
	}
	return s.appDesigners(c)
}
