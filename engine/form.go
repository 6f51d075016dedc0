package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Widgets.
const (
	WidgetText       = "text"
	WidgetTextarea   = "textarea"
	WidgetNumber     = "number"
	WidgetMoney      = "money"
	WidgetDate       = "date"
	WidgetDatetime   = "datetime"
	WidgetSelect     = "select"
	WidgetRadio      = "radio"
	WidgetCheckbox   = "checkbox"
	WidgetPhone      = "phone"
	WidgetEmail      = "email"
	WidgetIDNumber   = "id_number"
	WidgetAddress    = "address"
	WidgetAttachment = "attachment"
	WidgetImage      = "image"
	WidgetMember     = "member"
	WidgetUnit       = "unit"
	WidgetRelation   = "relation"
	WidgetSubform    = "subform"
	WidgetSerial     = "serial"
	WidgetFormula    = "formula"
)

// Form is one form of a bundle: a JSON Schema 2020-12 document with x- keywords.
type Form struct {
	Key         string
	Title       Text
	Description *Text
	Fields      []*Field // in document order
	Required    []string
	Checks      []Check
	Layout      []Section
	Raw         json.RawMessage // the form document as given
	Pointer     string          // where the form sits in its bundle, e.g. /forms/1

	byKey map[string]*Field
}

// Field returns the top-level field with key, or nil.
func (f *Form) Field(key string) *Field { return f.byKey[key] }

// Check is a form-level cross-field rule: Expr must hold, else Message.
type Check struct {
	Expr    string   `json:"expr"`
	Message Text     `json:"message"`
	Fields  []string `json:"fields,omitempty"`
}

// Section is one part of a form's layout.
type Section struct {
	Title     *Text    `json:"title,omitempty"`
	Columns   int      `json:"columns,omitempty"`
	Collapsed bool     `json:"collapsed,omitempty"`
	Fields    []string `json:"fields"`
}

// Option is one choice of a select, radio or checkbox field.
type Option struct {
	Value any
	Label Text
}

// Relation links a field to a record of another form of the same app.
type Relation struct {
	Form    string `json:"form"`
	Display string `json:"display,omitempty"`
}

// Serial configures a serial-number field.
type Serial struct {
	Prefix string `json:"prefix,omitempty"`
	Date   string `json:"date,omitempty"`
	Digits int    `json:"digits,omitempty"`
	Per    string `json:"per,omitempty"`
}

// Field is one property of a form (or of a subform's items).
type Field struct {
	Key         string
	Pointer     string // JSON pointer of the property in the bundle
	Type        string // string, number, integer, boolean, array, object
	Format      string
	Widget      string
	Label       Text
	Placeholder *Text
	Help        *Text
	Unit        *Text
	Options     []Option
	Default     any
	HasDefault  bool
	Sensitive   string
	Index       bool
	Visible     string
	Required    string
	Readonly    string
	Compute     string
	Relation    *Relation
	Serial      *Serial
	Fill        map[string]string // x-fill: the related record's field → this form's field
	Messages    map[string]Text   // x-messages: keyword → what staff read when the value breaks it
	Message     *Text             // x-message: what staff read when the value breaks any of its rules
	Pattern     string            // the value's pattern, read to know what the field holds (a VIN, a plate)
	ItemType    string            // for arrays: the items' type
	Fields      []*Field          // subform (array of objects) or object fields
	RequiredSub []string          // required keys of a subform item / object
	Schema      json.RawMessage

	byKey map[string]*Field
}

// Sub returns a subform/object field's child by key, or nil.
func (f *Field) Sub(key string) *Field { return f.byKey[key] }

// IsSubform reports whether the field is an array of objects.
func (f *Field) IsSubform() bool { return f.Type == "array" && f.ItemType == "object" }

// LabelOr returns the field's label, or its key when it has none.
func (f *Field) LabelOr() Text {
	if f.Label.IsZero() {
		return Text{Zh: f.Key, En: f.Key}
	}
	return f.Label
}

// orderedKeys returns the keys of a JSON object in document order.
func orderedKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not an object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

type rawField struct {
	Type        string                     `json:"type"`
	Format      string                     `json:"format"`
	Enum        []any                      `json:"enum"`
	Default     json.RawMessage            `json:"default"`
	Items       json.RawMessage            `json:"items"`
	Properties  json.RawMessage            `json:"properties"`
	Required    []string                   `json:"required"`
	Widget      string                     `json:"x-widget"`
	Label       Text                       `json:"x-label"`
	Placeholder *Text                      `json:"x-placeholder"`
	Help        *Text                      `json:"x-help"`
	Unit        *Text                      `json:"x-unit"`
	Options     map[string]json.RawMessage `json:"x-options"`
	Visible     string                     `json:"x-visible"`
	XRequired   string                     `json:"x-required"`
	Readonly    string                     `json:"x-readonly"`
	Compute     string                     `json:"x-compute"`
	Sensitive   string                     `json:"x-sensitive"`
	Index       bool                       `json:"x-index"`
	Relation    *Relation                  `json:"x-relation"`
	Serial      *Serial                    `json:"x-serial"`
	Fill        map[string]string          `json:"x-fill"`
	Messages    map[string]Text            `json:"x-messages"`
	Message     *Text                      `json:"x-message"`
	Pattern     string                     `json:"pattern"`
}

// parseFields reads an ordered "properties" object into fields.
func parseFields(props json.RawMessage, pointer string) ([]*Field, map[string]*Field, error) {
	if len(props) == 0 {
		return nil, map[string]*Field{}, nil
	}
	keys, err := orderedKeys(props)
	if err != nil {
		return nil, nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(props, &m); err != nil {
		return nil, nil, err
	}
	fields := make([]*Field, 0, len(keys))
	byKey := make(map[string]*Field, len(keys))
	for _, k := range keys {
		f, err := parseField(k, m[k], pointer+JSONPointer(k))
		if err != nil {
			return nil, nil, err
		}
		fields = append(fields, f)
		byKey[k] = f
	}
	return fields, byKey, nil
}

func parseField(key string, raw json.RawMessage, pointer string) (*Field, error) {
	var rf rawField
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", pointer, err)
	}
	f := &Field{
		Key: key, Pointer: pointer, Type: rf.Type, Format: rf.Format, Widget: rf.Widget,
		Label: rf.Label, Placeholder: rf.Placeholder, Help: rf.Help, Unit: rf.Unit,
		Sensitive: rf.Sensitive, Index: rf.Index, Visible: rf.Visible, Required: rf.XRequired,
		Readonly: rf.Readonly, Compute: rf.Compute, Relation: rf.Relation, Serial: rf.Serial,
		Fill: rf.Fill, Messages: rf.Messages, Message: rf.Message, Pattern: rf.Pattern,
		Schema: raw, RequiredSub: rf.Required,
	}
	if len(rf.Default) > 0 {
		f.HasDefault = true
		_ = json.Unmarshal(rf.Default, &f.Default)
	}
	enum := rf.Enum
	if rf.Type == "array" && len(rf.Items) > 0 {
		var it rawField
		if err := json.Unmarshal(rf.Items, &it); err != nil {
			return nil, fmt.Errorf("%s/items: %w", pointer, err)
		}
		f.ItemType = it.Type
		if it.Type == "object" {
			var err error
			f.Fields, f.byKey, err = parseFields(it.Properties, pointer+"/items/properties")
			if err != nil {
				return nil, err
			}
			f.RequiredSub = it.Required
		}
		if len(enum) == 0 {
			enum = it.Enum
		}
	}
	if rf.Type == "object" {
		var err error
		f.Fields, f.byKey, err = parseFields(rf.Properties, pointer+"/properties")
		if err != nil {
			return nil, err
		}
	}
	for _, v := range enum {
		o := Option{Value: v}
		s := fmt.Sprint(v)
		if lab, ok := rf.Options[s]; ok {
			_ = json.Unmarshal(lab, &o.Label)
		} else {
			o.Label = Text{Zh: s, En: s}
		}
		f.Options = append(f.Options, o)
	}
	return f, nil
}

type rawForm struct {
	Key         string          `json:"x-key"`
	Title       Text            `json:"x-title"`
	Description *Text           `json:"x-description"`
	Properties  json.RawMessage `json:"properties"`
	Required    []string        `json:"required"`
	Checks      []Check         `json:"x-checks"`
	Layout      []Section       `json:"x-layout"`
}

// ParseForm reads a form document that has passed the form meta-schema.
func ParseForm(raw json.RawMessage, pointer string) (*Form, error) {
	var rf rawForm
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, err
	}
	f := &Form{Key: rf.Key, Title: rf.Title, Description: rf.Description, Required: rf.Required,
		Checks: rf.Checks, Layout: rf.Layout, Raw: raw, Pointer: pointer}
	var err error
	f.Fields, f.byKey, err = parseFields(rf.Properties, pointer+"/properties")
	if err != nil {
		return nil, err
	}
	if f.Title.IsZero() {
		f.Title = Text{Zh: f.Key, En: f.Key}
	}
	return f, nil
}

// IsRequired reports whether key is in the form's static "required" list.
func (f *Form) IsRequired(key string) bool {
	for _, r := range f.Required {
		if r == key {
			return true
		}
	}
	return false
}
