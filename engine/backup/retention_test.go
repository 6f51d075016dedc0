package backup

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRetentionPrune(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC) // a Thursday
	var list []Info
	for d := 0; d < 60; d++ {
		list = append(list, Info{Path: start.AddDate(0, 0, d).Format("01-02"), Time: start.AddDate(0, 0, d)})
	}
	// a second backup on the last day: the newer one is kept for that day
	list = append(list, Info{Path: "03-01b", Time: start.AddDate(0, 0, 59).Add(time.Hour)})
	keep, remove := Retention{Daily: 7, Weekly: 4}.Prune(list, time.UTC)
	var got []string
	for _, b := range keep {
		got = append(got, b.Path)
	}
	// the 7 newest days (02-23..03-01, all ISO week 9), then the newest of
	// weeks 8, 7 and 6 (Sundays 02-22, 02-15 and 02-08)
	want := []string{"03-01b", "02-28", "02-27", "02-26", "02-25", "02-24", "02-23", "02-22", "02-15", "02-08"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if len(keep)+len(remove) != len(list) {
		t.Errorf("%d kept + %d removed != %d", len(keep), len(remove), len(list))
	}
	if keep, _ := (Retention{}).Prune(list, time.UTC); len(keep) != 1 || keep[0].Path != "03-01b" {
		t.Errorf("no retention must still keep the newest: %v", keep)
	}
}

func TestDue(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		list []Info
		want bool
	}{
		{nil, true},
		{[]Info{{Time: now.Add(-23 * time.Hour)}}, false},
		{[]Info{{Time: now.Add(-25 * time.Hour)}}, true},
	} {
		if got := Due(tc.list, now, 24*time.Hour); got != tc.want {
			t.Errorf("Due(%v) = %v, want %v", tc.list, got, tc.want)
		}
	}
}
