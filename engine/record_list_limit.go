package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Reading records in bulk through the list is limited like an export:
// without the export operation a list pages through its first
// ListAllowance records of one query; with it, as far as the role's
// export rule lets an export go without approval (ApproveOverRows), or
// without limit when the rule asks for no approval by size. Anything more
// goes through an export, which is watermarked, audited and, where a role
// says so, approved. The list's cursor carries how many records came
// before its page, sealed so that it cannot be reset by hand.

// ListAllowance is how many records of one query a user without the
// export operation may page through.
const ListAllowance = 1000

// listAllowance is acc's paging limit on form (0: none).
func listAllowance(b *Bundle, form string, acc *Access) int {
	if !acc.Can(OpExport) {
		return ListAllowance
	}
	if r := exportRule(b, form, acc); r != nil && r.ApproveOverRows > 0 {
		return r.ApproveOverRows
	}
	return 0
}

// sealCursor wraps a store cursor with the number of records before the
// page it starts and a MAC over both.
func (s *Service) sealCursor(ctx context.Context, app, form string, offset int, cursor string) (string, error) {
	mac, err := s.cursorMAC(ctx, app, form, offset, cursor)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(offset) + "." + mac + "." + cursor, nil
}

// openCursor checks a list cursor and returns its offset and the store's
// cursor ("" gives 0 and ""). EINVALID for one that was not ours or was
// changed.
func (s *Service) openCursor(ctx context.Context, app, form, c string) (int, string, error) {
	if c == "" {
		return 0, "", nil
	}
	bad := Invalid(FieldError{Field: "/cursor", Code: "invalid", Message: T("翻页位置无效，请从第一页重新开始", "the page cursor is not valid; start again from the first page")})
	parts := strings.SplitN(c, ".", 3)
	if len(parts) != 3 {
		return 0, "", bad
	}
	offset, err := strconv.Atoi(parts[0])
	if err != nil || offset < 0 {
		return 0, "", bad
	}
	mac, err := s.cursorMAC(ctx, app, form, offset, parts[2])
	if err != nil {
		return 0, "", err
	}
	if !hmac.Equal([]byte(mac), []byte(parts[1])) {
		return 0, "", bad
	}
	return offset, parts[2], nil
}

// cursorMAC authenticates a cursor under the app's index key (without a
// keyring, a fixed key: a store that encrypts nothing protects nothing).
func (s *Service) cursorMAC(ctx context.Context, app, form string, offset int, cursor string) (string, error) {
	msg := strconv.Itoa(offset) + "|" + cursor
	if s.keys != nil {
		bi, err := s.keys.BlindIndex(ctx, app, form, "_cursor", msg)
		if err != nil {
			return "", err
		}
		return bi[:16], nil
	}
	m := hmac.New(sha256.New, []byte("formwork list cursor"))
	m.Write([]byte(app + "\x00" + form + "\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12]), nil
}
