package engine

import "context"

// PutUserForTest stores a user as CreateUser would, without hashing a
// password: argon2id makes fixtures with many users slow on a busy machine.
func PutUserForTest(ctx context.Context, s Store, u *User) error {
	_, err := s.Apply(ctx, &Change{Docs: []DocWrite{{Doc: userDoc(u, 1, u.CreatedAt)}}})
	return err
}
