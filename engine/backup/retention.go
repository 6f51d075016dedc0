package backup

import (
	"fmt"
	"time"
)

// Retention says which backups to keep: the newest of each of the last
// Daily days that have one, and the newest of each of the last Weekly ISO
// weeks that have one (a backup may count for both).
type Retention struct {
	Daily  int
	Weekly int
}

// Prune splits list (any order) into the backups to keep and those to
// remove under r. Days and weeks are read in loc. The newest backup is
// always kept.
func (r Retention) Prune(list []Info, loc *time.Location) (keep, remove []Info) {
	sorted := append([]Info(nil), list...)
	sortNewestFirst(sorted)
	days, weeks := map[string]bool{}, map[string]bool{}
	for i, b := range sorted {
		t := b.Time.In(loc)
		day := t.Format("2006-01-02")
		y, w := t.ISOWeek()
		week := fmt.Sprintf("%d-%02d", y, w)
		k := i == 0
		if !days[day] && len(days) < r.Daily {
			days[day], k = true, true
		}
		if !weeks[week] && len(weeks) < r.Weekly {
			weeks[week], k = true, true
		}
		if k {
			keep = append(keep, b)
		} else {
			remove = append(remove, b)
		}
	}
	return keep, remove
}

// Due reports whether a new backup is due at now: none in list is younger
// than every.
func Due(list []Info, now time.Time, every time.Duration) bool {
	for _, b := range list {
		if now.Sub(b.Time) < every {
			return false
		}
	}
	return true
}
