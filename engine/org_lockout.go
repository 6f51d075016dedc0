package engine

import (
	"context"
	"time"
)

// RecordLoginFailure counts a failed login of the user with email. When
// the count reaches threshold the user is locked until now+lockFor and the
// count starts again; it reports whether the user is locked now (also when
// they were locked already, in which case nothing is written). Each
// failure is audited ("login.failed", and "user.lock" when it locks). An
// unknown email writes nothing and reports false: the caller audits it.
func (o *Org) RecordLoginFailure(ctx context.Context, actor AuditActor, email string, threshold int, lockFor time.Duration) (bool, error) {
	u, err := o.FindUserByEmail(ctx, email)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return false, nil
		}
		return false, err
	}
	now := o.now()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		return true, nil
	}
	locked := false
	if actor.ID == "" {
		actor.ID = u.ID
	}
	_, err = o.updateUser(ctx, u.ID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.FailedLogins++
		ev := o.event(actor, "login.failed", u.ID, nil, map[string]any{"failed_logins": u.FailedLogins})
		ev.Result = ResultFailed
		ev.Reason = "wrong password"
		if threshold > 0 && u.FailedLogins >= threshold {
			until := now.Add(lockFor).UTC()
			u.LockedUntil = &until
			u.FailedLogins = 0
			locked = true
			ev = o.event(actor, "user.lock", u.ID, []string{"locked_until"}, map[string]any{"locked_until": until, "after_failures": threshold})
		}
		return ev, nil, nil
	})
	if err != nil {
		return false, err
	}
	return locked, nil
}

// ResetLoginFailures clears a user's failure count and lock after a
// successful login; it writes nothing when there is nothing to clear.
func (o *Org) ResetLoginFailures(ctx context.Context, actor AuditActor, userID string) error {
	u, err := o.FindUserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.FailedLogins == 0 && u.LockedUntil == nil {
		return nil
	}
	_, err = o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.FailedLogins, u.LockedUntil = 0, nil
		return o.event(actor, "user.unlock", u.ID, []string{"failed_logins", "locked_until"}, nil), nil, nil
	})
	return err
}
