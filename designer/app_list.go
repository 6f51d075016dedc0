package designer

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"formwork/engine"
)

// AppItem is an app on the designer's home page.
type AppItem struct {
	Key   string      `json:"key"`
	Name  engine.Text `json:"name"`
	Draft bool        `json:"draft"` // has changes not published yet (or was never published)
}

// Apps lists the apps p may design, by key: every published app and every
// app that exists only as a draft for a system administrator, the apps an
// administrator named p a designer of for anyone else. It answers a
// question and writes nothing (no denial is audited for the apps left
// out). EUNAUTHORIZED without a user.
func (d *Designer) Apps(ctx context.Context, p *engine.Principal) ([]AppItem, error) {
	all, keys, err := d.svc.DesignableApps(ctx, p)
	if err != nil {
		return nil, err
	}
	may := func(key string) bool { return all || slices.Contains(keys, key) }
	bundles, err := d.svc.AppBundles(ctx)
	if err != nil {
		return nil, err
	}
	var out []AppItem
	at := map[string]int{}
	for _, b := range bundles {
		if may(b.App.Key) {
			at[b.App.Key] = len(out)
			out = append(out, AppItem{Key: b.App.Key, Name: b.App.Name})
		}
	}
	docs, err := d.svc.Store().FindDocs(ctx, engine.DocQuery{Kind: KindDraft})
	if err != nil {
		return nil, err
	}
	for _, doc := range docs {
		if !may(doc.ID) {
			continue
		}
		if i, ok := at[doc.ID]; ok {
			out[i].Draft = true
			continue
		}
		out = append(out, AppItem{Key: doc.ID, Name: draftName(doc), Draft: true})
	}
	slices.SortFunc(out, func(a, b AppItem) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// draftName is the app name a stored draft gives (its key when it gives
// none). The name is outside the sealed sample data, so no key is needed.
func draftName(doc *engine.Doc) engine.Text {
	var dd draftDoc
	var b struct {
		App struct {
			Name engine.Text `json:"name"`
		} `json:"app"`
	}
	if engine.DecodeDoc(doc, &dd) != nil || json.Unmarshal([]byte(dd.Bundle), &b) != nil || b.App.Name.IsZero() {
		return engine.T(doc.ID, doc.ID)
	}
	return b.App.Name
}
