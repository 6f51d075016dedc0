package exchange

import (
	"encoding/hex"
	"strings"
)

// The invisible mark: an export's 32-bit tag (engine.ExportJob.Tag) spread
// over the text cells of its file, four bits a cell, in characters that
// show as nothing and survive copying cells into another workbook and
// re-saving in Excel, WPS or LibreOffice (they are ordinary text). A cell
// carries a marker, the index of its nibble (0–7, two symbols) and the
// nibble (two symbols); cell (row, col) carries nibble (row+col) mod 8, so
// any eight neighbouring cells of a row or a column hold the whole tag.
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
	nib := b[i/2] >> (4 * (1 - i%2)) & 0xF
	return string([]rune{markStart, markSymbols[i>>2&3], markSymbols[i&3], markSymbols[nib>>2], markSymbols[nib&3]})
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
		if rs[i] == markStart && i+4 < len(rs) && isSymbol(rs[i+1]) && isSymbol(rs[i+2]) && isSymbol(rs[i+3]) && isSymbol(rs[i+4]) {
			i += 4
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
	for i := 0; i+4 < len(rs); i++ {
		if rs[i] != markStart {
			continue
		}
		a, b, c, d := symbolValue(rs[i+1]), symbolValue(rs[i+2]), symbolValue(rs[i+3]), symbolValue(rs[i+4])
		if a < 0 || b < 0 || c < 0 || d < 0 {
			continue
		}
		idx, nib := a<<2|b, byte(c<<2|d)
		if idx >= tagNibbles {
			continue
		}
		if v[idx] == nil {
			v[idx] = map[byte]int{}
		}
		v[idx][nib]++
		i += 4
	}
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
