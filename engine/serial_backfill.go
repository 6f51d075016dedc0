package engine

import (
	"context"
	"fmt"
	"time"

	"formwork/engine/filter"
)

// SerialBackfillBatch is how many records one write of BackfillSerials
// numbers.
const SerialBackfillBatch = 200

// BackfillSerials gives a number to every live record of a published form
// whose serial field is empty (records written before the engine numbered
// them, or before the form had the field), oldest first, as of its
// creation time in tz. Each batch is one atomic write: the records, their
// revisions and one "update" audit event each by the system. It looks
// before it writes and the store numbers only empty fields, so running it
// again, or on two nodes at once, numbers nothing twice. It returns how
// many records it numbered.
func BackfillSerials(ctx context.Context, st Store, tz *time.Location, now func() time.Time) (int, error) {
	apps, err := st.FindDocs(ctx, DocQuery{Kind: KindApp})
	if err != nil {
		return 0, fmt.Errorf("serial backfill: %w", err)
	}
	forms := StoreForms(st)
	total := 0
	for _, d := range apps {
		for _, fk := range formKeysOf(ctx, st, d) {
			f, err := forms(ctx, d.ID, fk, 0)
			if err != nil {
				return total, fmt.Errorf("serial backfill %s/%s: %w", d.ID, fk, err)
			}
			if f == nil {
				continue
			}
			for _, fd := range f.Fields {
				if fd.Widget != WidgetSerial {
					continue
				}
				n, err := backfillField(ctx, st, d.ID, f, fd, tz, now)
				total += n
				if err != nil {
					return total, fmt.Errorf("serial backfill %s/%s/%s: %w", d.ID, fk, fd.Key, err)
				}
			}
		}
	}
	return total, nil
}

// backfillField numbers the records of f whose field fd is empty.
func backfillField(ctx context.Context, st Store, app string, f *Form, fd *Field, tz *time.Location, now func() time.Time) (int, error) {
	key := filter.Field{Key: fd.Key, Type: filter.TypeString}
	empty := filter.Or{Items: []filter.Expr{filter.Exists{Field: key, Want: false}, filter.Cmp{Field: key, Op: filter.OpEq, Value: ""}}}
	q := RecordQuery{App: app, Form: f.Key, Filter: empty, Sort: []SortKey{{Field: "_created_at"}}, Limit: SerialBackfillBatch}
	total, conflicts := 0, 0
	for {
		// every record a batch numbers leaves the filter: no cursor needed
		page, err := st.FindRecords(ctx, q)
		if err != nil || len(page.Items) == 0 {
			return total, err
		}
		at := now()
		ch := &Change{}
		for _, r := range page.Items {
			nr := r.Clone()
			delete(nr.Data, fd.Key)
			ch.Records = append(ch.Records, RecordWrite{Op: WriteUpdate, Record: nr, ExpectVersion: r.Version, Actor: SystemActor, At: at,
				Serials: []SerialClaim{serialClaim(fd, r, r.CreatedAt, tz)}})
			ch.Audit = append(ch.Audit, &AuditEvent{Time: at, Actor: SystemActor, Action: "update", App: app, Form: f.Key, Object: r.ID,
				Fields: []string{fd.Key}, Result: ResultOK, Reason: "serial number back-fill"})
		}
		if _, err := st.Apply(ctx, ch); err != nil {
			// someone changed one of the records (or numbered it) meanwhile:
			// read the batch again
			if ErrorCode(err) == ECONFLICT && conflicts < 10 {
				conflicts++
				continue
			}
			return total, err
		}
		conflicts = 0
		total += len(page.Items)
	}
}
