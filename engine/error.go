package engine

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. The server holds the one mapping from code to HTTP status.
const (
	EBADREQUEST   = "bad_request"  // malformed input (400)
	EUNAUTHORIZED = "unauthorized" // not logged in (401)
	EFORBIDDEN    = "forbidden"    // operation or field not allowed (403)
	ENOTFOUND     = "not_found"    // missing or out of scope (404)
	ECONFLICT     = "conflict"     // stale version or duplicate key (409)
	EGONE         = "gone"         // existed, and is no more: an expired export (410)
	ETOOLARGE     = "too_large"    // body or upload too large (413)
	EUNSUPPORTED  = "unsupported"  // wrong content type (415)
	EINVALID      = "invalid"      // data or definition fails validation (422)
	ELOCKED       = "locked"       // user frozen or locked out (423)
	// EPASSWORDCHANGE: an administrator reset the password and the user
	// must set their own before anything else (403)
	EPASSWORDCHANGE = "password_change_required"
	ERATELIMIT      = "rate_limited" // too many requests (429)
	EINTERNAL       = "internal"     // anything not ours (500)
	EUNAVAILABLE    = "unavailable"  // a dependency is down (503)
)

// EREAUTH: the session or token must prove the second factor again before
// it serves (401; an anomaly rule asked for it, see Org.RequireReauth).
const EREAUTH = "reauth_required"

// FieldError is one problem at a JSON pointer into the submitted document.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message Text   `json:"message"`
}

// Error is Formwork's application error: a code, a bilingual message and,
// for validation, the field errors. Anything else is internal.
type Error struct {
	Code    string
	Message Text
	Fields  []FieldError
	Err     error // the cause, never shown to users
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message.En)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n%s %s: %s", f.Field, f.Code, f.Message.En)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with code and a message in both languages.
func Errorf(code string, msg Text) *Error { return &Error{Code: code, Message: msg} }

// Invalid returns an EINVALID error carrying field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: T("提交的数据有误", "The submitted data is invalid"), Fields: fields}
}

// ErrorCode returns the code of an application error, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err in lang; internal
// errors get a generic message so nothing of ours leaks.
func ErrorMessage(err error, lang string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message.In(lang)
	}
	return T("服务器内部错误", "Internal error").In(lang)
}

// ErrorFields returns the field errors of an application error.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
