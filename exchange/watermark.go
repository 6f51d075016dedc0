package exchange

import (
	"encoding/hex"
	"slices"
	"strings"
)

// The invisible mark: an export's 32-bit tag (engine.ExportJob.Tag) spread
// over the text cells of its file, four bits a cell, in characters that
// show as nothing and survive copying cells into another workbook and
// re-saving in Excel, WPS or LibreOffice (they are ordinary text). A cell
// carries a marker, an index i (0–7, two symbols) and nibbles i and i+4
// mod 8 (two symbols each); cell (row, col) has i = (row+col) mod 8, so
// any four neighbouring text cells of a row or a column hold the whole
// tag. The header line carries it whole.
const (
	markStart = '\u2062' // INVISIBLE TIMES: a nibble follows
)

// markSymbols are the four symbols, two bits each.
var markSymbols = [4]rune{'\u200B', '\u200C', '\u200D', '\u2060'}

// tagNibbles is the number of four-bit pieces of a tag.
const tagNibbles = 8

// marker returns the invisible mark of tag for the cell at (row, col), or
// "" for a malformed tag.
func marker(tag string, row, col int) string {
	b, err := hex.DecodeString(tag)
	if err != nil || len(b) != tagNibbles/2 {
		return ""
	}
	i := (row + col) % tagNibbles
	nib := func(i int) byte { return b[i/2] >> (4 * (1 - i%2)) & 0xF }
	n1, n2 := nib(i), nib((i+tagNibbles/2)%tagNibbles)
	return string([]rune{markStart, markSymbols[i>>2&3], markSymbols[i&3], markSymbols[n1>>2], markSymbols[n1&3], markSymbols[n2>>2], markSymbols[n2&3]})
}

// markLen is the length in runes of one cell's mark.
const markLen = 7

// markAll is the whole tag as marks (for the header line).
func markAll(tag string) string {
	if tag == "" {
		return ""
	}
	var b strings.Builder
	for i := range tagNibbles / 2 {
		b.WriteString(marker(tag, i, 0))
	}
	return b.String()
}

// markIt appends the cell's mark to a text value.
func markIt(s, tag string, row, col int) string {
	if s == "" || tag == "" {
		return s
	}
	return s + marker(tag, row, col)
}

// StripMarks removes the invisible marks from a text (an import of an
// exported file gets its values back as they were).
func StripMarks(s string) string {
	if !strings.ContainsRune(s, markStart) {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] == markStart && i+markLen <= len(rs) && !slices.ContainsFunc(rs[i+1:i+markLen], func(r rune) bool { return !isSymbol(r) }) {
			i += markLen - 1
			continue
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}

func symbolValue(r rune) int {
	for i, s := range markSymbols {
		if s == r {
			return i
		}
	}
	return -1
}

func isSymbol(r rune) bool { return symbolValue(r) >= 0 }

// tagVotes gathers the nibbles the marks in texts carry.
type tagVotes [tagNibbles]map[byte]int

func (v *tagVotes) read(s string) {
	rs := []rune(s)
	for i := 0; i+markLen <= len(rs); i++ {
		if rs[i] != markStart {
			continue
		}
		var x [markLen - 1]int
		ok := true
		for k := range x {
			x[k] = symbolValue(rs[i+1+k])
			ok = ok && x[k] >= 0
		}
		if !ok {
			continue
		}
		idx := x[0]<<2 | x[1]
		if idx >= tagNibbles {
			continue
		}
		v.vote(idx, byte(x[2]<<2|x[3]))
		v.vote((idx+tagNibbles/2)%tagNibbles, byte(x[4]<<2|x[5]))
		i += markLen - 1
	}
}

func (v *tagVotes) vote(idx int, nib byte) {
	if v[idx] == nil {
		v[idx] = map[byte]int{}
	}
	v[idx][nib]++
}

// tag is the tag the votes agree on: each nibble its most frequent value;
// "" when a nibble has no vote (too few cells).
func (v *tagVotes) tag() (string, int) {
	var b [tagNibbles / 2]byte
	cells := 0
	for i, m := range v {
		if len(m) == 0 {
			return "", 0
		}
		var best byte
		n := -1
		for nib, c := range m {
			if c > n || c == n && nib < best {
				best, n = nib, c
			}
			cells += c
		}
		b[i/2] |= best << (4 * (1 - i%2))
	}
	return hex.EncodeToString(b[:]), cells
}
