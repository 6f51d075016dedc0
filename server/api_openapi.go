package server

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"
)

// bindOpenAPIRoutes binds the API's own description, open to anyone.
func (s *server) bindOpenAPIRoutes(e *echo.Echo) {
	e.GET("/api/v1/openapi.json", s.openapi)
}

// The OpenAPI 3.1 description of the API is hand-written: openapi.json
// holds the document and the core paths; each area of the API keeps its
// paths (and any component schemas) in its own fragment under openapi/,
// merged in at start. TestOpenAPIMatchesRoutes keeps it and the routes
// in step.
//
//go:embed openapi.json
var openapiBase []byte

//go:embed openapi/*.json
var openapiFragments embed.FS

var openapiDoc = mustMergeOpenAPI(openapiBase, openapiFragments)

// mustMergeOpenAPI adds every fragment's paths and components to base.
// A path or component defined twice is a programming error.
func mustMergeOpenAPI(base []byte, frags fs.FS) []byte {
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		panic("openapi.json: " + err.Error())
	}
	names, err := fs.Glob(frags, "openapi/*.json")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	paths := doc["paths"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	for _, name := range names {
		b, err := fs.ReadFile(frags, name)
		if err != nil {
			panic(err)
		}
		var f struct {
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			panic(name + ": " + err.Error())
		}
		for p, v := range f.Paths {
			if _, dup := paths[p]; dup {
				panic(fmt.Sprintf("%s: path %s is documented twice", name, p))
			}
			paths[p] = v
		}
		for kind, m := range f.Components {
			dst, _ := comps[kind].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				comps[kind] = dst
			}
			for k, v := range m {
				if _, dup := dst[k]; dup {
					panic(fmt.Sprintf("%s: components/%s/%s is defined twice", name, kind, k))
				}
				dst[k] = v
			}
		}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return out
}

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openapiDoc)
}
