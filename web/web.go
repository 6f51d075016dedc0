// Package web is the shared UI kit: the page layout, the form renderer used
// by the staff pages (and later the designer preview), the small message
// catalogue for zh and en, and the static JS and CSS embedded in the binary.
// Components take view models and run no queries.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var staticFS embed.FS

// Static returns the embedded static assets (app.css, app.js), served
// under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("web: static assets missing: " + err.Error())
	}
	return sub
}
