package filter

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestIndexTerms(t *testing.T) {
	got := IndexTerms("name", "张伟 Ａb-1")
	want := []string{"name:1", "name:ab", "name:b", "name:伟", "name:张伟"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IndexTerms (-want +got):\n%s", diff)
	}
	tx, ok := NewText([]Field{{Key: "name", Type: TypeString}}, "张伟，a")
	if !ok {
		t.Fatal("no terms")
	}
	if diff := cmp.Diff(Text{Fields: tx.Fields, Grams: []string{"张伟"}, Prefixes: []string{"a"}}, tx); diff != "" {
		t.Errorf("NewText (-want +got):\n%s", diff)
	}
	if _, ok := NewText(nil, " -，。"); ok {
		t.Error("punctuation only gave terms")
	}
	long := strings.Repeat("ab", MaxIndexedRunes)
	if n := len(IndexTerms("x", long)); n > 3 {
		t.Errorf("repeated text gave %d terms", n)
	}
}

// FuzzText: any query built from a text finds that text (the index and
// the query fold and split alike), and every query NewText accepts passes
// Validate, which the stores rely on to build their queries unescaped.
func FuzzText(f *testing.F) {
	for _, s := range []string{"张伟", "北京朝阳门店经理", "ＶＩＰ", "13800138000", "a", "İstanbul", "e\u0301", "\x00\xff", "x:y\"z*"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, text, query string) {
		fl := []Field{{Key: "note", Type: TypeString}}
		value := func(Field) any { return text }
		if utf8.RuneCountInString(text) <= MaxIndexedRunes {
			if tx, ok := NewText(fl, text); ok && !Match(tx, value) {
				t.Errorf("%q does not find itself", text)
			}
		}
		tx, ok := NewText(fl, query)
		if !ok {
			return
		}
		if err := Validate(tx); err != nil {
			t.Errorf("NewText(%q) fails Validate: %v", query, err)
		}
		for _, g := range tx.Grams {
			if strings.ContainsAny(g, "\" *:") {
				t.Errorf("gram %q holds a character a store would have to escape", g)
			}
		}
		for _, term := range IndexTerms("note", text) {
			if strings.ContainsAny(term[len("note:"):], "\" *:") {
				t.Errorf("term %q holds a separator", term)
			}
		}
	})
}

// FuzzIndexTerms: IndexTerms gives the terms of its definition, made here
// the plain way from normRuns (a set of strings, sorted).
func FuzzIndexTerms(f *testing.F) {
	for _, s := range []string{"张伟 Ａb-1", "北京朝阳门店经理", "a", "ab ab", "İstanbul", "e\u0301", "\x00\xff", "\U00030EDE面", strings.Repeat("xy ", 900)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seen := map[string]bool{}
		for _, run := range normRuns(s, MaxIndexedRunes) {
			for i := 0; i+1 < len(run); i++ {
				seen["k:"+string(run[i:i+2])] = true
			}
			seen["k:"+string(run[len(run)-1:])] = true
		}
		want := slices.Sorted(maps.Keys(seen))
		if diff := cmp.Diff(want, IndexTerms("k", s), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("IndexTerms(%q) (-want +got):\n%s", s, diff)
		}
	})
}
