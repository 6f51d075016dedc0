package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// jkind is the kind of a decoded JSON value.
type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jval is a decoded JSON value that keeps object keys in document order, so
// parsing (and the first error reported) never depends on map iteration.
type jval struct {
	kind jkind
	b    bool
	num  float64
	str  string
	arr  []*jval
	keys []string
	vals []*jval
}

// maxJSONDepth bounds the nesting of raw JSON containers while decoding; the
// logical nesting of $and/$or/$not is limited separately by MaxDepth.
const maxJSONDepth = 32

// decodeJSON reads exactly one JSON value from raw. Duplicate keys are
// refused: MongoDB and encoding/json disagree on which one wins.
func decodeJSON(raw []byte) (*jval, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	containers := 0
	v, err := decodeValue(dec, "", 0, &containers)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, newError("", CodeSyntax, "过滤条件之后还有多余内容", "unexpected data after the filter")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, ptr string, depth int, containers *int) (*jval, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(ptr, err)
	}
	return decodeFrom(dec, tok, ptr, depth, containers)
}

func decodeFrom(dec *json.Decoder, tok json.Token, ptr string, depth int, containers *int) (*jval, error) {
	switch t := tok.(type) {
	case nil:
		return &jval{kind: jNull}, nil
	case bool:
		return &jval{kind: jBool, b: t}, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, newError(ptr, CodeValue, "数字超出范围", "number out of range")
		}
		return &jval{kind: jNumber, num: f}, nil
	case string:
		return &jval{kind: jString, str: t}, nil
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, newError(ptr, CodeLimit, "过滤条件嵌套太深", "the filter is nested too deeply")
		}
		*containers++
		if *containers > MaxNodes {
			return nil, newError(ptr, CodeLimit, "过滤条件太复杂", "the filter has too many parts")
		}
		switch t {
		case '[':
			v := &jval{kind: jArray}
			for dec.More() {
				e, err := decodeValue(dec, ptr+"/"+strconv.Itoa(len(v.arr)), depth+1, containers)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(ptr, err)
			}
			return v, nil
		case '{':
			v := &jval{kind: jObject}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxError(ptr, err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, newError(ptr, CodeSyntax, "JSON 格式错误", "malformed JSON")
				}
				kp := ptr + "/" + escapePointer(k)
				if seen[k] {
					return nil, newError(kp, CodeSyntax, "重复的键", "duplicate key")
				}
				seen[k] = true
				e, err := decodeValue(dec, kp, depth+1, containers)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(ptr, err)
			}
			return v, nil
		}
	}
	return nil, newError(ptr, CodeSyntax, "JSON 格式错误", "malformed JSON")
}

func syntaxError(ptr string, err error) *Error {
	if errors.Is(err, io.EOF) {
		return newError(ptr, CodeSyntax, "JSON 不完整", "incomplete JSON")
	}
	return newError(ptr, CodeSyntax, "JSON 格式错误", "malformed JSON")
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}
