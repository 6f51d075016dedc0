package filter

// Error codes of filter errors. The engine maps every one of them to its
// bad-input code; they tell callers and tests what was wrong.
const (
	CodeSyntax          = "syntax"           // malformed JSON or a misplaced construct
	CodeTooLarge        = "too_large"        // raw filter over MaxSize
	CodeLimit           = "limit"            // too deep, too many nodes, list too long, pattern too long
	CodeUnknownField    = "unknown_field"    // a key the form does not have
	CodeUnknownOperator = "unknown_operator" // $where, $expr, … anything not in the subset
	CodePath            = "path"             // dotted paths
	CodeType            = "type"             // a value or operator that does not fit the field type
	CodeValue           = "value"            // objects or arrays where a scalar belongs, bad $options …
	CodeVariable        = "variable"         // unknown or unavailable $variables
	CodeRegex           = "regex"            // an invalid or unsafe $regex pattern
)

// Error is a refused filter: a JSON pointer (RFC 6901) to the offending part
// of the raw filter, a code and a message in Chinese and English. Package
// filter cannot import engine (engine imports filter); the engine converts
// it into its own bad-input error.
type Error struct {
	Pointer string
	Code    string
	Zh, En  string
}

func (e *Error) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(whole filter)"
	}
	return "filter: " + p + ": " + e.En
}

func newError(ptr, code, zh, en string) *Error {
	return &Error{Pointer: ptr, Code: code, Zh: zh, En: en}
}
