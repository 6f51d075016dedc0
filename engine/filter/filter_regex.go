package filter

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// maxRegexLoops bounds the unbounded repetitions (*, +, {n,}) in one
// pattern: k sequential loops over overlapping text cost a backtracking
// engine O(n^k) on a failing match.
const maxRegexLoops = 3

// CheckRegex reports whether pattern is acceptable for every backend: at
// most MaxRegexLen characters, valid RE2 (so no backreferences or
// lookarounds), no NUL byte (MongoDB refuses it), and no construct that makes
// a backtracking engine such as MongoDB's PCRE take exponential time: no
// repetition inside a repetition ((a+)+, (a*)*, (a{2,5})*), no alternation
// of several-character branches inside a repetition ((a|aa)*), and at most
// maxRegexLoops unbounded repetitions.
func CheckRegex(pattern string) *Error {
	if utf8.RuneCountInString(pattern) > MaxRegexLen {
		return newError("", CodeLimit, "正则表达式太长", "the pattern is too long")
	}
	if strings.ContainsRune(pattern, 0) {
		return newError("", CodeRegex, "正则表达式不能包含空字符", "the pattern must not contain a NUL character")
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return newError("", CodeRegex, "不是有效的正则表达式(不支持反向引用和环视)", "not a valid regular expression (backreferences and lookarounds are not supported)")
	}
	// Go's parser simplifies (a|a)* to a* and (?:a+)+ to a+, but MongoDB
	// receives the text as written, so the text is checked too.
	if msg := checkRegexText(pattern); msg != "" {
		return newError("", CodeRegex, "正则表达式可能导致回溯过慢:"+msg, "the pattern could make matching take too long: "+msg)
	}
	loops := 0
	if msg := checkRegexNode(re, false, &loops); msg != "" {
		return newError("", CodeRegex, "正则表达式可能导致回溯过慢:"+msg, "the pattern could make matching take too long: "+msg)
	}
	if loops > maxRegexLoops {
		return newError("", CodeRegex, "正则表达式中的重复太多", "the pattern has too many unbounded repetitions")
	}
	return nil
}

func checkRegexNode(re *syntax.Regexp, inLoop bool, loops *int) string {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		repeats := re.Op != syntax.OpRepeat || re.Max == -1 || re.Max > 1
		if repeats {
			if inLoop {
				return "a repetition inside a repetition"
			}
			if re.Op != syntax.OpRepeat || re.Max == -1 {
				*loops++
			}
			inLoop = true
		}
	case syntax.OpAlternate:
		if inLoop {
			return "an alternation inside a repetition"
		}
	}
	for _, sub := range re.Sub {
		if msg := checkRegexNode(sub, inLoop, loops); msg != "" {
			return msg
		}
	}
	return ""
}

// checkRegexText scans a pattern that already parsed as RE2 and refuses a
// repeated group that contains an alternation or a repetition.
func checkRegexText(p string) string {
	type group struct{ alt, loop bool }
	var stack []group
	closed := (*group)(nil) // the group just closed, if the previous atom was one
	markLoop := func() {
		for i := range stack {
			stack[i].loop = true
		}
	}
	for i := 0; i < len(p); {
		c := p[i]
		atomGroup := closed
		closed = nil
		switch c {
		case '\\':
			if i+1 < len(p) && p[i+1] == 'Q' {
				end := strings.Index(p[i+2:], `\E`)
				if end < 0 {
					return ""
				}
				i += 2 + end + 2
				continue
			}
			i += 2
			if i-1 < len(p) && (p[i-1] == 'p' || p[i-1] == 'P' || p[i-1] == 'x') && i < len(p) && p[i] == '{' {
				if end := strings.IndexByte(p[i:], '}'); end >= 0 {
					i += end + 1
				}
			}
			continue
		case '[':
			i = skipClass(p, i)
			continue
		case '(':
			stack = append(stack, group{})
			i++
			continue
		case ')':
			if len(stack) > 0 {
				g := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if g.loop {
					markLoop()
				}
				closed = &g
			}
			i++
			continue
		case '|':
			if len(stack) > 0 {
				stack[len(stack)-1].alt = true
			}
			i++
			continue
		case '*', '+', '{':
			n, repeats := quantifier(p[i:])
			if n == 0 { // a literal '{'
				i++
				continue
			}
			if repeats {
				if atomGroup != nil && atomGroup.alt {
					return "an alternation inside a repetition"
				}
				if atomGroup != nil && atomGroup.loop {
					return "a repetition inside a repetition"
				}
				markLoop()
			}
			i += n
			if i < len(p) && (p[i] == '?' || p[i] == '+') {
				i++
			}
			continue
		}
		i++
	}
	return ""
}

// quantifier returns the length of the quantifier at the start of s (0 when
// there is none) and whether it repeats more than once.
func quantifier(s string) (int, bool) {
	switch s[0] {
	case '*', '+':
		return 1, true
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, false
	}
	body := s[1:end]
	lo, hi, comma := body, "", false
	if k := strings.IndexByte(body, ','); k >= 0 {
		lo, hi, comma = body[:k], body[k+1:], true
	}
	if !digits(lo) || (hi != "" && !digits(hi)) {
		return 0, false
	}
	switch {
	case !comma:
		return end + 1, lo != "0" && lo != "1" && strings.TrimLeft(lo, "0") != "" && strings.TrimLeft(lo, "0") != "1"
	case hi == "":
		return end + 1, true
	}
	h := strings.TrimLeft(hi, "0")
	return end + 1, h != "" && h != "1"
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// skipClass returns the index after the character class starting at p[i].
func skipClass(p string, i int) int {
	i++
	if i < len(p) && p[i] == '^' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for i < len(p) {
		switch {
		case p[i] == '\\':
			i += 2
		case p[i] == '[' && i+1 < len(p) && p[i+1] == ':':
			if end := strings.Index(p[i+2:], ":]"); end >= 0 {
				i += 2 + end + 2
			} else {
				i++
			}
		case p[i] == ']':
			return i + 1
		default:
			i++
		}
	}
	return i
}
