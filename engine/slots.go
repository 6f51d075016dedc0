package engine

import "context"

// Slots bounds work that holds much memory while it runs (a password
// check, a decoded image, an upload being stored, a spreadsheet being
// read) to a number at once in the process; the rest wait their turn.
type Slots chan struct{}

// NewSlots makes n slots (at least one).
func NewSlots(n int) Slots { return make(Slots, max(1, n)) }

// Take waits for a slot as long as ctx lets it; release gives it back.
func (s Slots) Take(ctx context.Context) (release func(), err error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
