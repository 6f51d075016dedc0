package engine

import (
	"context"
	"sort"
)

// AppSummary is an app as its home page lists it.
type AppSummary struct {
	Key     string        `json:"key"`
	Name    Text          `json:"name"`
	Version int           `json:"version"`
	Forms   []FormSummary `json:"forms"`
}

// FormSummary is a form the user may use.
type FormSummary struct {
	Key       string `json:"key"`
	Title     Text   `json:"title"`
	CanCreate bool   `json:"can_create"`
	CanRead   bool   `json:"can_read"`
}

// ListApps lists the apps and forms the user may use.
func (s *Service) ListApps(ctx context.Context, p *Principal) ([]*AppSummary, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	var out []*AppSummary
	err := s.eachApp(ctx, func(a *appDoc, b *Bundle) error {
		if !p.AllowsApp(a.Key) {
			return nil
		}
		sum := &AppSummary{Key: a.Key, Name: a.Name, Version: a.Version}
		for _, f := range b.Forms {
			acc, err := s.resolveAccess(ctx, p, b, f)
			if err != nil {
				return err
			}
			if acc.Can(OpCreate) || acc.Can(OpRead) {
				sum.Forms = append(sum.Forms, FormSummary{Key: f.Key, Title: f.Title, CanCreate: acc.Can(OpCreate), CanRead: acc.Can(OpRead)})
			}
		}
		if len(sum.Forms) > 0 {
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
