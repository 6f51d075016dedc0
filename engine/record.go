package engine

import (
	"encoding/json"
	"reflect"
	"sort"
	"time"
)

// Record statuses (`_status`).
const (
	StatusActive    = "active"
	StatusInReview  = "in_review"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusWithdrawn = "withdrawn"
)

// Record is one filled-in form. Data holds the field values as decoded JSON
// (string, float64, bool, []any, map[string]any, nil).
type Record struct {
	ID          string         `json:"id"`
	App         string         `json:"app"`
	Form        string         `json:"form"`
	FormVersion int            `json:"form_version"`
	Unit        string         `json:"unit"`
	Owner       string         `json:"owner"`
	Status      string         `json:"status"`
	Version     int64          `json:"version"`
	Data        map[string]any `json:"data"`
	// RawData is the stored JSON text of the data, given instead of Data
	// (then nil) only to a query that asked for it (RecordQuery.RawData):
	// a page that is only encoded as JSON copies it through instead of
	// decoding it into a map and encoding the map again.
	RawData   string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	UpdatedAt time.Time  `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	c.Data = CloneData(r.Data)
	if r.DeletedAt != nil {
		t := *r.DeletedAt
		c.DeletedAt = &t
	}
	return &c
}

// CloneData deep-copies decoded JSON data.
func CloneData(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// Change is one changed field in a revision.
type FieldChange struct {
	Field  string `json:"field"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// DiffData lists the fields whose values differ between before and after,
// sorted by field key.
func DiffData(before, after map[string]any) []FieldChange {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []FieldChange
	for k := range keys {
		b, a := before[k], after[k]
		if !reflect.DeepEqual(normJSON(b), normJSON(a)) {
			out = append(out, FieldChange{Field: k, Before: b, After: a})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func normJSON(v any) any {
	switch v.(type) {
	case nil, string, float64, bool:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// Revision is the record as it stood at one version, with what changed from
// the version before. Revision 1 is the record as created.
type Revision struct {
	RecordID string         `json:"record"`
	Version  int64          `json:"version"`
	Op       WriteOp        `json:"op"`
	Actor    string         `json:"actor"`
	At       time.Time      `json:"at"`
	Status   string         `json:"status"`
	Unit     string         `json:"unit"`
	Owner    string         `json:"owner"`
	Data     map[string]any `json:"data"`
	Changes  []FieldChange  `json:"changes"`
}
