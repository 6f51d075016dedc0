package engine

import (
	"context"
)

// ExportApp returns the app's current bundle exactly as it was published.
func (s *Service) ExportApp(ctx context.Context, p *Principal, app string) ([]byte, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.export", app, "", "", "not an administrator", err)
	}
	_, v, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, err
	}
	vd, err := s.readAppVersion(ctx, app, v)
	if err != nil {
		return nil, err
	}
	data, err := openBundle(ctx, s.keys, vd)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "app.export", app, "", app, nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return data, nil
}
