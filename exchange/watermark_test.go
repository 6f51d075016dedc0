package exchange

import (
	"strings"
	"testing"
)

// TestMarksRoundTrip: any four neighbouring marked cells of a row or a
// column give the tag back; the marks strip off to the value.
func TestMarksRoundTrip(t *testing.T) {
	const tag = "9f03a7c1"
	for _, sc := range []struct {
		cells [][2]int
		whole bool
	}{
		{[][2]int{{3, 0}, {3, 1}, {3, 2}, {3, 3}}, true},  // a row
		{[][2]int{{7, 5}, {8, 5}, {9, 5}, {10, 5}}, true}, // a column
		{[][2]int{{2, 9}, {3, 9}, {4, 9}, {5, 9}}, true},  // another
		{[][2]int{{1, 0}, {1, 1}, {1, 2}, {1, 3}}, true},  // row 1
		// a diagonal has indexes 0, 2, 4, 6: nibbles 1, 3, 5, 7 are missing
		{[][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, false},
	} {
		cells := sc.cells
		var v tagVotes
		for _, c := range cells {
			s := markIt("王小明", tag, c[0], c[1])
			if StripMarks(s) != "王小明" {
				t.Fatalf("%q strips to %q", s, StripMarks(s))
			}
			v.read(s)
		}
		got, _ := v.tag()
		if !sc.whole {
			if got != "" {
				t.Errorf("%v: tag %q from half the nibbles", cells, got)
			}
			continue
		}
		if got != tag {
			t.Errorf("%v: tag %q, want %q", cells, got, tag)
		}
	}
	var v tagVotes
	v.read("header" + markAll(tag))
	if got, _ := v.tag(); got != tag {
		t.Errorf("the header's marks give %q", got)
	}
	if got, _ := (&tagVotes{}).tag(); got != "" {
		t.Errorf("no votes give %q", got)
	}
	if markIt("", tag, 1, 1) != "" || markIt("x", "", 1, 1) != "x" || marker("nothex!!", 1, 1) != "" {
		t.Error("an empty value, no tag or a bad tag is marked")
	}
}

// TestNeutralise: what a spreadsheet takes for a formula is kept as text.
func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "+86 139": "'+86 139", "-5": "'-5", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "王": "王", "": ""} {
		if got := Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzTraceFile: any bytes — a broken workbook, a zip bomb, stray marks —
// give a trace or an error, never a crash.
func FuzzTraceFile(f *testing.F) {
	f.Add([]byte("a,b\n" + markIt("x", "01234567", 1, 1) + ",y\n"))
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Add([]byte(strings.Repeat(string(markStart), 10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := TraceFile(data)
		if err == nil && tr == nil {
			t.Fatal("no trace and no error")
		}
	})
}
