// Package filter is Formwork's language for sets of records: JSON with a safe
// subset of MongoDB's query operators, parsed once into a typed tree that is
// checked against a form's fields and has its variables substituted. Each
// store backend compiles the tree into its own query.
package filter

// Type is the value type of a field as the filter sees it.
type Type int

// Field value types.
const (
	TypeString Type = iota + 1 // strings, including dates and datetimes as ISO 8601 text
	TypeNumber                 // JSON numbers (number, integer, money)
	TypeBool                   // booleans
	TypeTime                   // system timestamps (_created_at, _updated_at): RFC 3339 UTC text, millisecond precision
	TypeArray                  // arrays of scalars (multi-select, checkbox groups): $eq/$in match any element
)

// Field describes one filterable field. System fields start with "_" and map
// to record columns: _id, _unit, _owner, _status (strings), _version (number),
// _created_at, _updated_at (time).
type Field struct {
	Key    string
	Type   Type
	System bool
}

// Resolver looks up a field by key; ok is false for unknown fields.
type Resolver func(key string) (f Field, ok bool)

// Expr is a node of a checked filter tree.
type Expr interface{ isExpr() }

// And holds when every item holds (an empty And always holds).
type And struct{ Items []Expr }

// AllOf is the expression that holds when every item holds, in its
// simplest form: nil for none (no condition), the item itself for one, an
// And for more.
func AllOf(items []Expr) Expr {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	default:
		return And{Items: items}
	}
}

// Or holds when any item holds (an empty Or never holds).
type Or struct{ Items []Expr }

// Not holds when X does not.
type Not struct{ X Expr }

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	OpEq  Op = "$eq"
	OpNe  Op = "$ne"
	OpGt  Op = "$gt"
	OpGte Op = "$gte"
	OpLt  Op = "$lt"
	OpLte Op = "$lte"
	OpIn  Op = "$in"
	OpNin Op = "$nin"
)

// Cmp compares a field with a value. Value is a string, float64, bool or nil
// for scalar ops, and []any of those for $in/$nin; for TypeTime fields it is a
// string in the canonical time format. Variables are already substituted.
// $eq nil matches a missing or null field; $ne nil matches a present one.
type Cmp struct {
	Field Field
	Op    Op
	Value any
}

// Exists holds when the field is present and not null (Want) or absent/null (!Want).
type Exists struct {
	Field Field
	Want  bool
}

// Regex holds when the field's string value matches Pattern (RE2 syntax,
// length-limited, already checked to be safe for every backend).
type Regex struct {
	Field   Field
	Pattern string
	Fold    bool // case-insensitive
}

func (And) isExpr()    {}
func (Or) isExpr()     {}
func (Not) isExpr()    {}
func (Cmp) isExpr()    {}
func (Exists) isExpr() {}
func (Regex) isExpr()  {}

// TimeFormat is the canonical text form of system timestamps in filters and
// in the stores: UTC, millisecond precision, fixed width so text order is time order.
const TimeFormat = "2006-01-02T15:04:05.000Z"
