package workflow

import (
	"context"
	"strings"

	"formwork/engine"
)

// ReadNotification marks one of p's notifications read and returns it (a
// page then opens what it is about). ENOTFOUND when there is no such
// notification or it is someone else's; reading one already read changes
// nothing.
func (w *Runtime) ReadNotification(ctx context.Context, p *engine.Principal, id string) (*Notification, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	notFound := engine.Errorf(engine.ENOTFOUND, engine.T("通知不存在", "notification not found"))
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, notFound
	}
	for attempt := 0; attempt < w.opt.MaxRetries; attempt++ {
		d, err := w.store.FindDoc(ctx, KindNotification, id)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENOTFOUND {
				return nil, notFound
			}
			return nil, err
		}
		n, err := notificationFromDoc(d)
		if err != nil {
			return nil, err
		}
		if n.User != p.User.ID {
			return nil, notFound
		}
		if n.Read {
			return n, nil
		}
		n.Read = true
		_, err = w.store.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: notificationDoc(n, w.now()), ExpectVersion: n.Version}}})
		if engine.ErrorCode(err) != engine.ECONFLICT {
			return n, err
		}
		// a delivery marked it sent in between: read it again
	}
	return nil, engine.Errorf(engine.ECONFLICT, engine.T("通知正被同时修改", "the notification is being changed concurrently"))
}
