// Package templates holds the ready-made app bundles (CRM and car
// dealership) in the bundle format of FORMAT.md, embedded in the binary so
// that `formwork app import --template NAME` and the template gallery work
// without any file on disk.
package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"formwork/engine"
)

//go:embed *.json
var files embed.FS

// Names lists the embedded templates by name (the file name without
// ".json"), sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Get returns the bundle document of the template name. An unknown name is
// an ENOTFOUND *engine.Error.
func Get(name string) ([]byte, error) {
	if strings.ContainsAny(name, "/\\.") || name == "" {
		return nil, notFound(name)
	}
	b, err := files.ReadFile(name + ".json")
	if err != nil {
		return nil, notFound(name)
	}
	return b, nil
}

func notFound(name string) *engine.Error {
	return engine.Errorf(engine.ENOTFOUND, engine.Tf("没有名为 %q 的模板", "no template named %q", name))
}

// Item is one form, role or workflow of a template, for the gallery preview.
type Item struct {
	Key  string      `json:"key"`
	Name engine.Text `json:"name"`
}

// Info summarises a template for the gallery: what it is and what an
// import brings.
type Info struct {
	Name          string       `json:"name"` // template name, as given to Get
	Key           string       `json:"key"`  // app key
	Title         engine.Text  `json:"title"`
	Description   *engine.Text `json:"description,omitempty"`
	Version       string       `json:"version"`
	Forms         []Item       `json:"forms"`
	Roles         []Item       `json:"roles"`
	Workflows     []Item       `json:"workflows"`
	SampleRecords int          `json:"sample_records"`
}

// GetInfo parses the template name into its gallery summary.
func GetInfo(name string) (*Info, error) {
	b, err := Get(name)
	if err != nil {
		return nil, err
	}
	var doc struct {
		App struct {
			Key         string       `json:"key"`
			Name        engine.Text  `json:"name"`
			Version     string       `json:"version"`
			Description *engine.Text `json:"description"`
		} `json:"app"`
		Roles []struct {
			Key  string      `json:"key"`
			Name engine.Text `json:"name"`
		} `json:"roles"`
		Forms []struct {
			Key   string      `json:"x-key"`
			Title engine.Text `json:"x-title"`
		} `json:"forms"`
		Workflows []struct {
			Key  string      `json:"key"`
			Name engine.Text `json:"name"`
		} `json:"workflows"`
		SampleData map[string][]json.RawMessage `json:"sample_data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	info := &Info{Name: name, Key: doc.App.Key, Title: doc.App.Name, Description: doc.App.Description, Version: doc.App.Version,
		Forms: []Item{}, Roles: []Item{}, Workflows: []Item{}}
	for _, f := range doc.Forms {
		info.Forms = append(info.Forms, Item{Key: f.Key, Name: f.Title})
	}
	for _, r := range doc.Roles {
		info.Roles = append(info.Roles, Item{Key: r.Key, Name: r.Name})
	}
	for _, w := range doc.Workflows {
		info.Workflows = append(info.Workflows, Item{Key: w.Key, Name: w.Name})
	}
	for _, recs := range doc.SampleData {
		info.SampleRecords += len(recs)
	}
	return info, nil
}
