package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine"
	"formwork/web"
)

// draftFlows is what the workflow pages read of a draft's workflows; the
// page script reads (and keeps) the rest.
type draftFlows struct {
	Workflows []struct {
		Key   string            `json:"key"`
		Form  string            `json:"form"`
		Name  engine.Text       `json:"name"`
		Nodes []json.RawMessage `json:"nodes"`
	} `json:"workflows"`
}

func readFlows(d *designer.Draft) *draftFlows {
	var f draftFlows
	_ = json.Unmarshal(d.Bundle, &f) // a draft may be incomplete: what does not decode is left empty
	return &f
}

// eachOther fills a name missing in one language with the other.
func eachOther(zh, en string) (string, string) {
	if zh == "" {
		zh = en
	}
	if en == "" {
		en = zh
	}
	return zh, en
}

func designerFlowsURL(app string) string { return designerAppURL(app) + "/workflows" }

func designerFlowURL(app, key string) string {
	return designerFlowsURL(app) + "/" + url.PathEscape(key)
}

// designerFlowsPage lists the draft's workflows with the form that
// starts a new one.
func (s *server) designerFlowsPage(c echo.Context) error {
	return s.renderDesignerFlows(c, http.StatusOK, "", "", "", "", "")
}

func (s *server) renderDesignerFlows(c echo.Context, status int, msg, form, key, zh, en string) error {
	lang, app := pageLang(c), c.Param("app")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerFlowsPage{Page: s.designerPage(c, web.Msg(lang, "dz.f.title")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Action: designerFlowsURL(app), Error: msg, Form: form, Key: key, NameZh: zh, NameEn: en}
	titles := map[string]string{}
	for _, f := range b.Forms {
		title := f.Title.In(lang)
		if title == "" {
			title = f.Key
		}
		titles[f.Key] = title
		v.Forms = append(v.Forms, web.DesignerFormItem{Key: f.Key, Title: title})
	}
	for i, w := range readFlows(d).Workflows {
		nm := w.Name.In(lang)
		if nm == "" {
			nm = w.Key
		}
		form := titles[w.Form]
		if form == "" {
			form = w.Form
		}
		v.Flows = append(v.Flows, web.DesignerFlowItem{Key: w.Key, Name: nm, Form: form, Nodes: len(w.Nodes),
			Problems: flowProblems(d.Problems, i), URL: designerFlowURL(app, w.Key)})
	}
	return Render(c, status, web.DesignerFlowsView(v))
}

// flowProblems counts the draft's problems inside workflow i.
func flowProblems(probs []designer.Problem, i int) int {
	at, n := "/workflows/"+strconv.Itoa(i), 0
	for _, p := range probs {
		if p.Pointer == at || strings.HasPrefix(p.Pointer, at+"/") {
			n++
		}
	}
	return n
}

// flowKey makes a workflow's key from its English name (or "flow"),
// numbered when taken.
func flowKey(en string, taken func(string) bool) string {
	var b strings.Builder
	for _, r := range strings.ToLower(en) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	base := strings.TrimRight(b.String(), "_")
	if len(base) > 56 {
		base = strings.TrimRight(base[:56], "_")
	}
	if base == "" {
		base = "flow"
	}
	key := base
	for n := 2; taken(key); n++ {
		key = base + "_" + strconv.Itoa(n)
	}
	return key
}

// designerNewFlow adds a workflow to the draft (through the designer
// package, as a JSON Patch at the draft's version) and opens it: on the
// chosen form, started when a record is created, with no step yet.
func (s *server) designerNewFlow(c echo.Context) error {
	ctx, p, lang, app := c.Request().Context(), principal(c), pageLang(c), c.Param("app")
	form, key := strings.TrimSpace(c.FormValue("form")), strings.TrimSpace(c.FormValue("key"))
	zh, en := strings.TrimSpace(c.FormValue("name_zh")), strings.TrimSpace(c.FormValue("name_en"))
	refuse := func(msgKey string) error {
		return s.renderDesignerFlows(c, http.StatusUnprocessableEntity, web.Msg(lang, msgKey), form, key, zh, en)
	}
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	known := false
	for _, f := range b.Forms {
		known = known || f.Key == form
	}
	if !known {
		return refuse("dz.f.new.no_form")
	}
	if zh == "" && en == "" {
		return refuse("dz.f.new.name_missing")
	}
	zh, en = eachOther(zh, en)
	flows := readFlows(d).Workflows
	taken := func(k string) bool {
		for _, w := range flows {
			if w.Key == k {
				return true
			}
		}
		return false
	}
	switch {
	case key == "":
		key = flowKey(en, taken)
	case !engine.KeyPattern.MatchString(key):
		return refuse("dz.f.new.key_bad")
	case taken(key):
		return refuse("dz.f.new.key_taken")
	}
	wf := map[string]any{"key": key, "form": form, "name": engine.Text{Zh: zh, En: en},
		"trigger": map[string]any{"on": []string{"create"}}, "nodes": []any{}}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(d.Bundle, &top)
	op := map[string]any{"op": "add", "path": "/workflows/-", "value": wf}
	if _, ok := top["workflows"]; !ok {
		op = map[string]any{"op": "add", "path": "/workflows", "value": []any{wf}}
	}
	if _, err := s.designer.Patch(ctx, p, app, engine.MustJSON([]any{op}), d.Version); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, designerFlowURL(app, key))
}

// designerFlowPage is one workflow of the draft: flow.js loads the draft
// and saves every change as a JSON Patch. A workflow the draft does not
// have is a 404 page.
func (s *server) designerFlowPage(c echo.Context) error {
	lang, app, key := pageLang(c), c.Param("app"), c.Param("key")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	name := ""
	found := false
	for _, w := range readFlows(d).Workflows {
		if w.Key == key {
			found, name = true, w.Name.In(lang)
		}
	}
	if !found {
		return engine.Errorf(engine.ENOTFOUND, engine.Tf("草稿中没有流程 %s", "the draft has no flow %s", key))
	}
	if name == "" {
		name = key
	}
	api := "/api/v1/apps/" + url.PathEscape(app) + "/draft"
	v := web.DesignerFlowPage{Page: s.designerPage(c, name), App: app, AppName: b.App.Name.In(lang), AppURL: designerAppURL(app),
		FlowsURL: designerFlowsURL(app), PublishURL: designerAppURL(app) + "/publish", Key: key, Name: name,
		DraftURL: api, RuleURL: api + "/rule", SimulateURL: api + "/simulate", Me: principal(c).User.Email}
	v.Styles = append(v.Styles, "designer/flow.css")
	return Render(c, http.StatusOK, web.DesignerFlowView(v))
}
