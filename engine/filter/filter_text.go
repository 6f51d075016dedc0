package filter

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text holds when one of Fields holds, in its indexed text, every gram of
// Grams and a term starting with each of Prefixes. It is the full-text
// search of a list: never parsed from a filter document, only built by the
// engine (NewText) over the fields a viewer may read in full. Stores answer
// it from a text index whose terms IndexTerms gives, so it matches the
// same records on every backend and in Match.
type Text struct {
	Fields   []Field
	Grams    []string // whole index terms: character bigrams of the query
	Prefixes []string // single characters a term must start with
}

func (Text) isExpr() {}

// MaxIndexedRunes is how much of one field's text is indexed: longer
// values are searched in their first MaxIndexedRunes characters only,
// which keeps one long note from weighing on the index.
const MaxIndexedRunes = 2000

// normRuns folds s the way index and query both see it (lower case,
// full-width ASCII to half-width) and splits it into runs of letters and
// digits; everything else separates runs.
func normRuns(s string, limit int) [][]rune {
	var runs [][]rune
	var cur []rune
	n := 0
	for _, r := range s {
		if n++; limit > 0 && n > limit {
			break
		}
		if r, ok := foldRune(r); ok {
			cur = append(cur, r)
			continue
		}
		if len(cur) > 0 {
			runs = append(runs, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}

// foldRune is r as index and query both see it (lower case, full-width
// ASCII as half-width), and whether it is a letter or digit, which runs
// are made of.
func foldRune(r rune) (rune, bool) {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r == 0x3000:
		r = ' '
	}
	r = unicode.ToLower(r)
	return r, unicode.IsLetter(r) || unicode.IsDigit(r)
}

// IndexTerms returns the terms a store indexes for one field's text: each
// "field:gram" where a gram is a character bigram of a run of letters and
// digits, plus the run's last character on its own (so a one-character
// query finds a character at any position by prefix). Bigrams make Chinese
// searchable without a dictionary and match inside words and numbers.
// The terms are sorted and unique.
func IndexTerms(field, s string) []string {
	return AppendIndexTerms(nil, field, s)
}

// AppendIndexTerms appends IndexTerms(field, s) to dst. It folds and splits
// as normRuns does, but keeps each gram as a pair of runes and makes all
// the terms' text as one string: a record's write calls it for every text
// field.
func AppendIndexTerms(dst []string, field, s string) []string {
	// a gram is its first rune in the high half and, for a bigram, its
	// second rune plus one in the low half: the numbers sort as the
	// terms' UTF-8 text does (a character alone before its bigrams)
	var grams []uint64
	prev, n := rune(-1), 0
	for _, r := range s {
		if n++; n > MaxIndexedRunes {
			break
		}
		if r, ok := foldRune(r); ok {
			if prev >= 0 {
				grams = append(grams, uint64(prev)<<32|uint64(r+1))
			}
			prev = r
			continue
		}
		if prev >= 0 {
			grams = append(grams, uint64(prev)<<32)
			prev = -1
		}
	}
	if prev >= 0 {
		grams = append(grams, uint64(prev)<<32)
	}
	if len(grams) == 0 {
		return dst
	}
	slices.Sort(grams)
	grams = slices.Compact(grams)
	termLen := func(g uint64) int { // of "field:" and the gram's runes
		n := len(field) + 1 + utf8.RuneLen(rune(g>>32))
		if lo := uint32(g); lo != 0 {
			n += utf8.RuneLen(rune(lo - 1))
		}
		return n
	}
	size := 0
	for _, g := range grams {
		size += termLen(g)
	}
	buf := make([]byte, 0, size)
	for _, g := range grams {
		buf = append(buf, field...)
		buf = append(buf, ':')
		buf = utf8.AppendRune(buf, rune(g>>32))
		if lo := uint32(g); lo != 0 {
			buf = utf8.AppendRune(buf, rune(lo-1))
		}
	}
	all, at := string(buf), 0
	for _, g := range grams {
		n := termLen(g)
		dst = append(dst, all[at:at+n])
		at += n
	}
	return dst
}

// NewText builds the search of query over fields: every bigram of the
// query's runs must be in one field, and a run of one character must start
// one of its terms. ok is false when the query has no letter or digit (it
// can match nothing).
func NewText(fields []Field, query string) (t Text, ok bool) {
	t.Fields = fields
	seen := map[string]bool{}
	for _, run := range normRuns(query, 0) {
		if len(run) == 1 {
			if p := string(run); !seen["*"+p] {
				seen["*"+p] = true
				t.Prefixes = append(t.Prefixes, p)
			}
			continue
		}
		for i := 0; i+1 < len(run); i++ {
			if g := string(run[i : i+2]); !seen[g] {
				seen[g] = true
				t.Grams = append(t.Grams, g)
			}
		}
	}
	return t, len(t.Grams)+len(t.Prefixes) > 0
}

// matchText answers t for one record in memory, from the same terms a
// store indexes.
func matchText(t Text, value func(Field) any) bool {
	for _, f := range t.Fields {
		s, _ := value(f).(string)
		if s == "" {
			continue
		}
		terms := IndexTerms(f.Key, s)
		if textHolds(t, f.Key, terms) {
			return true
		}
	}
	return false
}

func textHolds(t Text, key string, terms []string) bool {
	for _, g := range t.Grams {
		if _, found := slices.BinarySearch(terms, key+":"+g); !found {
			return false
		}
	}
	for _, p := range t.Prefixes {
		i, _ := slices.BinarySearch(terms, key+":"+p)
		if i >= len(terms) || !strings.HasPrefix(terms[i], key+":"+p) {
			return false
		}
	}
	return true
}

func validateText(t Text) error {
	if len(t.Grams)+len(t.Prefixes) == 0 {
		return errText("no terms")
	}
	for _, f := range t.Fields {
		if err := validateField(f); err != nil {
			return err
		}
		if f.System || f.Type != TypeString {
			return errText("field " + f.Key + " is not a text field")
		}
	}
	for _, g := range t.Grams {
		if len([]rune(g)) != 2 || !isRun(g) {
			return errText("bad gram")
		}
	}
	for _, p := range t.Prefixes {
		if len([]rune(p)) != 1 || !isRun(p) {
			return errText("bad prefix")
		}
	}
	return nil
}

func isRun(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

type textError string

func (e textError) Error() string { return "filter: text search: " + string(e) }

func errText(s string) error { return textError(s) }
