package web

import (
	"strconv"
	"strings"

	"formwork/engine"
)

// Messages of the pages-staff-understand pass (record statuses are
// engine.StatusWords): the top bar, the hint of a choice not made yet and the task list's
// record columns.
func init() {
	addMessages(map[string][2]string{
		"tasks.record_status": {"记录状态", "Record status"},
		"nav.admin":           {"系统管理", "Administration"},
		"nav.signed_in_as":    {"当前用户：", "Signed in as "},
		"form.choose_one":     {"请选择一项", "Choose one"},
		"form.row_at":         {"第 %d 行“%s”：", "Row %d, %s: "},
		"tasks.col.record":    {"记录", "Record"},
		"tasks.col.amount":    {"金额", "Amount"},
	})
}

// anySelected reports whether one of the options is chosen.
func anySelected(opts []Option) bool {
	for _, o := range opts {
		if o.Selected {
			return true
		}
	}
	return false
}

// FieldErrorText is an error's message as a page shows it beside field
// fd (nil: not known), naming the row and column of a subform cell.
func FieldErrorText(lang string, fd *engine.Field, e engine.FieldError) string {
	if fd == nil {
		return e.Message.In(lang)
	}
	msg := e.Message.In(lang)
	where := rowWhere(lang, fd, e.Field)
	if where != "" && rowSaid(lang, msg) {
		return msg // a row rule's message names its row already
	}
	return where + msg
}

// rowSaid reports whether msg starts by naming a subform row, as the
// engine's row rules word their messages ("第 2 行：…", "Row 2: …").
func rowSaid(lang, msg string) bool {
	if lang == "en" {
		rest, ok := strings.CutPrefix(msg, "Row ")
		return ok && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9'
	}
	rest, ok := strings.CutPrefix(msg, "第 ")
	return ok && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9'
}

// rowWhere says which row and column of subform fd an error at pointer
// is about ("第 2 行“电话”："), so a message shown once for the whole
// subform names its cell; "" for an error about the field itself.
func rowWhere(lang string, fd *engine.Field, pointer string) string {
	if !fd.IsSubform() {
		return ""
	}
	rest := strings.TrimPrefix(pointer, engine.JSONPointer(fd.Key)+"/")
	row, col, ok := strings.Cut(rest, "/")
	n, err := strconv.Atoi(row)
	if !ok || err != nil || rest == pointer {
		return ""
	}
	sub := fd.Sub(strings.ReplaceAll(strings.ReplaceAll(col, "~1", "/"), "~0", "~"))
	if sub == nil {
		return ""
	}
	return Msgf(lang, "form.row_at", n+1, sub.LabelOr().In(lang))
}
