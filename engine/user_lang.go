package engine

import (
	"context"
	"fmt"
)

// KindUserLang is the doc kind holding the language a user reads (id: the
// user's id), so what is sent to them outside a page (an email) is in it.
const KindUserLang = "user_lang"

type userLang struct {
	Lang string `json:"lang"`
}

// SetUserLang records that user id reads lang ("zh" or "en"; anything
// else is ignored). It writes only when the language changes.
func (o *Org) SetUserLang(ctx context.Context, id, lang string) error {
	if id == "" || lang != "zh" && lang != "en" {
		return nil
	}
	if o.UserLang(ctx, id) == lang {
		return nil
	}
	d := Doc{Kind: KindUserLang, ID: id, Value: MustJSON(userLang{Lang: lang}), Updated: o.now()}
	if _, err := o.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: d, ExpectVersion: AnyVersion}}}); err != nil {
		return fmt.Errorf("set user language: %w", err)
	}
	return nil
}

// UserLang is the language user id reads, "" when unknown.
func (o *Org) UserLang(ctx context.Context, id string) string {
	l, _, err := findDocAs[userLang](ctx, o.store, KindUserLang, id)
	if err != nil {
		return ""
	}
	return l.Lang
}
