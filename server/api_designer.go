package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine"
)

// bindDesignerRoutes binds the draft API of API.md ("Designing apps"):
// the designer package decides who may design, each handler only
// translates HTTP. Not bound when the designer is not enabled.
//
// Written on the designer-ui branch so the form designer's script and its
// browser test have the API to talk to; the lead's server/api_designer.go
// on its own branch is the one to keep when the two meet.
func (s *server) bindDesignerRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	if s.designer == nil {
		return
	}
	const v1 = "/api/v1"
	e.GET(v1+"/apps/:app/draft", s.apiDraft, user...)
	e.PUT(v1+"/apps/:app/draft", s.apiSaveDraft, user...)
	e.PATCH(v1+"/apps/:app/draft", s.apiPatchDraft, user...)
	e.GET(v1+"/apps/:app/draft/diff", s.apiDraftDiff, user...)
	e.POST(v1+"/apps/:app/draft/publish", s.apiPublishDraft, user...)
}

// draftAnswer is a draft as the API returns it, with its version as ETag.
func draftAnswer(c echo.Context, status int, d *designer.Draft, withBundle bool) error {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(d.Version, 10)))
	c.Response().Header().Set("Cache-Control", "no-store")
	probs := d.Problems
	if probs == nil {
		probs = []designer.Problem{}
	}
	if !withBundle {
		return c.JSON(status, map[string]any{"version": d.Version, "problems": probs})
	}
	return c.JSON(status, map[string]any{"bundle": d.Bundle, "version": d.Version, "base": d.Base, "problems": probs})
}

// draftIfMatch reads the draft version of If-Match ("VERSION", quoted or not);
// a missing header means "no draft yet" (0).
func draftIfMatch(c echo.Context) (int64, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 0 {
		return 0, badRequest(engine.T("If-Match 应为草稿版本号", "If-Match must be the draft's version"))
	}
	return v, nil
}

func (s *server) apiDraft(c echo.Context) error {
	d, err := s.designer.Draft(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return draftAnswer(c, http.StatusOK, d, true)
}

func (s *server) apiSaveDraft(c echo.Context) error { return s.writeDraft(c, s.designer.Save) }

func (s *server) apiPatchDraft(c echo.Context) error { return s.writeDraft(c, s.designer.Patch) }

// writeDraft hands the body and If-Match to write (a whole bundle or a
// patch) and answers with the new version and problems.
func (s *server) writeDraft(c echo.Context, write func(context.Context, *engine.Principal, string, []byte, int64) (*designer.Draft, error)) error {
	v, err := draftIfMatch(c)
	if err != nil {
		return err
	}
	b, err := readJSONBody(c.Request())
	if err != nil {
		return err
	}
	d, err := write(c.Request().Context(), principal(c), c.Param("app"), b, v)
	if err != nil {
		return err
	}
	return draftAnswer(c, http.StatusOK, d, false)
}

func (s *server) apiDraftDiff(c echo.Context) error {
	df, err := s.designer.Diff(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, df)
}

func (s *server) apiPublishDraft(c echo.Context) error {
	var in struct {
		Confirm bool `json:"confirm"`
	}
	if c.Request().ContentLength != 0 {
		if err := s.decodeJSON(c, &in); err != nil {
			return err
		}
	}
	av, err := s.designer.Publish(c.Request().Context(), principal(c), c.Param("app"), in.Confirm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"key": av.Key, "version": av.Version})
}
