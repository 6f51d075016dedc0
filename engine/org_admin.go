package engine

import (
	"context"
	"fmt"
)

// SetUnit moves a user to another unit. Their records stay in the unit
// they were created in. EINVALID for an unknown unit, ENOTFOUND for an
// unknown user, ECONFLICT when the user changed meanwhile.
func (o *Org) SetUnit(ctx context.Context, actor AuditActor, userID, unit string) (*User, error) {
	if unit == "" {
		return nil, Invalid(FieldError{Field: "/unit", Code: "required", Message: T("请指定所属单位", "The unit is required")})
	}
	if _, err := o.FindUnit(ctx, unit); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(FieldError{Field: "/unit", Code: "not_found", Message: Tf("单位 %s 不存在", "The unit %s does not exist", unit)})
		}
		return nil, fmt.Errorf("set unit: %w", err)
	}
	return o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		before := u.Unit
		u.Unit = unit
		return o.event(actor, "user.unit", u.ID, []string{"unit"}, map[string]any{"before": before, "after": unit}), nil, nil
	})
}

// Unfreeze lets a frozen user sign in again. Every session and API token
// they held is revoked in the same Change (Freeze kept them only to answer
// 423), so they start afresh. Unfreezing an active user is a no-op.
// ENOTFOUND for an unknown user.
func (o *Org) Unfreeze(ctx context.Context, actor AuditActor, userID string) (*User, error) {
	u, err := o.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !u.Frozen {
		return u, nil
	}
	// no credential can be issued while the user is frozen, so this list
	// is complete until the write below lands
	revoke, err := o.credentialDeletes(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("unfreeze user: %w", err)
	}
	return o.updateUser(ctx, userID, func(u *User) (*AuditEvent, []DocWrite, error) {
		u.Frozen = false
		return o.event(actor, "user.unfreeze", u.ID, []string{"frozen"},
			map[string]any{"sessions_and_tokens_revoked": len(revoke)}), revoke, nil
	})
}
