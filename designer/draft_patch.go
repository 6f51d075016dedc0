package designer

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"formwork/engine"
)

// Patch changes app's draft by an RFC 6902 JSON Patch (on the published
// bundle when there is no draft yet). ifMatch is as for Save. EBADREQUEST
// for a malformed patch (the field error points into the patch, "/0/path");
// EINVALID for an operation on a pointer that does not exist, a failed
// test, a move of a published field's key or of the app key (the field
// error points into the bundle); otherwise as Save. The draft is unchanged
// by a refused patch. Audited as draft.patch.
func (d *Designer) Patch(ctx context.Context, p *engine.Principal, app string, patch []byte, ifMatch int64) (*Draft, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.patch"); err != nil {
		return nil, err
	}
	if err := checkSize(len(patch)); err != nil {
		return nil, err
	}
	ops, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(cur, ifMatch); err != nil {
		return nil, err
	}
	if err := d.checkKeyOps(ctx, app, cur, ops); err != nil {
		return nil, err
	}
	data, err := applyPatch(cur.data, ops)
	if err != nil {
		return nil, err
	}
	if err := checkSize(len(data)); err != nil {
		return nil, err
	}
	return d.write(ctx, p, app, cur, data, "draft.patch")
}

// MaxPatchOps is the most operations one patch may hold; the designer
// sends one per user action.
const MaxPatchOps = 1000

func badPatch(ptr, code string, msg engine.Text) error {
	return &engine.Error{Code: engine.EBADREQUEST, Message: engine.T("补丁格式错误", "the patch is malformed"),
		Fields: []engine.FieldError{{Field: ptr, Code: code, Message: msg}}}
}

// decodePatch checks the shape of every operation, so that each mistake is
// reported at its place in the patch, and decodes it for the library.
func decodePatch(patch []byte) (jsonpatch.Patch, error) {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &raws); err != nil {
		return nil, badPatch("", "json", engine.T("补丁应为 JSON 数组，每项是一个操作对象", "a patch is a JSON array of operation objects"))
	}
	if len(raws) > MaxPatchOps {
		return nil, engine.Errorf(engine.ETOOLARGE, engine.Tf("一个补丁最多 %d 个操作", "a patch has at most %d operations", MaxPatchOps))
	}
	for i, raw := range raws {
		at := "/" + strconv.Itoa(i)
		if raw == nil {
			return nil, badPatch(at, "json", engine.T("操作应为对象", "an operation is an object"))
		}
		var op string
		if json.Unmarshal(raw["op"], &op) != nil {
			return nil, badPatch(at+"/op", "required", engine.T("缺少操作类型", "the op is missing"))
		}
		needFrom, needValue := false, false
		switch op {
		case "add", "replace", "test":
			needValue = true
		case "move", "copy":
			needFrom = true
		case "remove":
		default:
			return nil, badPatch(at+"/op", "enum", engine.Tf("未知的操作 %q（应为 add、remove、replace、move、copy 或 test）", "unknown op %q (add, remove, replace, move, copy or test)", op))
		}
		if err := checkPointer(raw["path"], at+"/path"); err != nil {
			return nil, err
		}
		if needFrom {
			if err := checkPointer(raw["from"], at+"/from"); err != nil {
				return nil, err
			}
		}
		if _, ok := raw["value"]; needValue && !ok {
			return nil, badPatch(at+"/value", "required", engine.T("缺少 value", "the value is missing"))
		}
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, badPatch("", "json", engine.T("补丁无法解析", "the patch cannot be read"))
	}
	return ops, nil
}

func checkPointer(raw json.RawMessage, at string) error {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return badPatch(at, "required", engine.T("缺少 JSON 指针", "a JSON pointer is missing"))
	}
	if s != "" && !strings.HasPrefix(s, "/") {
		return badPatch(at, "pointer", engine.Tf("%q 不是 JSON 指针（应以 / 开头）", "%q is not a JSON pointer (it starts with /)", s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 == len(s) || s[i+1] != '0' && s[i+1] != '1') {
			return badPatch(at, "pointer", engine.Tf("%q 中的 ~ 应写作 ~0 或 ~1", "in %q a ~ is written ~0 or ~1", s))
		}
	}
	return nil
}

// checkKeyOps refuses operations that change a key after publishing: a
// move from the app key or a published field's key, and any write to or
// move from a published form's x-key; records are stored under keys, so
// such a change would orphan their values. Form indexes are read in the
// draft as it was before the patch.
func (d *Designer) checkKeyOps(ctx context.Context, app string, cur *current, ops jsonpatch.Patch) error {
	pub, err := d.published(ctx, app)
	if err != nil {
		return err
	}
	forms := readKeys(cur.data).Forms
	// publishedForm returns the published form a pointer's /forms/i leads
	// to, and the pointer's remaining tokens.
	publishedForm := func(ptr string) (*engine.Form, []string) {
		parts := strings.Split(ptr, "/")
		if pub == nil || len(parts) < 3 || parts[1] != "forms" {
			return nil, nil
		}
		i, err := strconv.Atoi(parts[2])
		if err != nil || i < 0 || i >= len(forms) {
			return nil, nil
		}
		return pub.Form(forms[i].Key), parts[3:]
	}
	for _, op := range ops {
		path, _ := op.Path()
		if pf, rest := publishedForm(path); pf != nil && len(rest) == 1 && rest[0] == "x-key" && op.Kind() != "test" {
			return keyChanged(path, pf.Key)
		}
		if op.Kind() != "move" {
			continue
		}
		from, _ := op.From()
		if from == "/app/key" || from == "/app" {
			return keyChanged(from, app)
		}
		pf, rest := publishedForm(from)
		switch {
		case pf == nil:
		case len(rest) == 1 && rest[0] == "x-key":
			return keyChanged(from, pf.Key)
		case len(rest) == 2 && rest[0] == "properties" && pf.Field(unescape(rest[1])) != nil:
			return keyChanged(from, unescape(rest[1]))
		}
	}
	return nil
}

func unescape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}

var applyOptions = func() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.EscapeHTML = false
	o.SupportNegativeIndices = false
	o.AccumulatedCopySizeLimit = MaxDraftSize
	return o
}()

// applyPatch applies ops to data in one pass. When that fails it finds
// the first operation that fails by bisecting on how many operations are
// applied, so that naming it costs a few passes, not one per operation.
func applyPatch(data []byte, ops jsonpatch.Patch) ([]byte, error) {
	out, err := ops.ApplyWithOptions(data, applyOptions)
	if err == nil {
		return out, nil
	}
	ok, bad := 0, len(ops) // ops[:ok] apply, ops[:bad] fail with err
	for bad-ok > 1 {
		mid := (ok + bad) / 2
		if _, e := ops[:mid].ApplyWithOptions(data, applyOptions); e != nil {
			bad, err = mid, e
		} else {
			ok = mid
		}
	}
	return nil, patchError(ops[bad-1], err)
}

func patchError(op jsonpatch.Operation, err error) error {
	ptr, _ := op.Path()
	if k := op.Kind(); k == "move" || k == "copy" {
		if from, _ := op.From(); from != "" {
			ptr = from
		}
	}
	switch {
	case errors.Is(err, jsonpatch.ErrTestFailed):
		return engine.Invalid(engine.FieldError{Field: ptr, Code: "test", Message: engine.T("草稿中的值与补丁的 test 不符", "the draft's value differs from the patch's test")})
	case errors.As(err, new(*jsonpatch.AccumulatedCopySizeError)):
		return engine.Errorf(engine.ETOOLARGE, engine.Tf("草稿过大（最多 %d MB）", "the draft is too large (at most %d MB)", MaxDraftSize>>20))
	}
	return engine.Invalid(engine.FieldError{Field: ptr, Code: "pointer", Message: engine.Tf("草稿中没有 %s", "the draft has nothing at %s", displayPointer(ptr))})
}

func displayPointer(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
