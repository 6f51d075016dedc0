// Package filter is Formwork's language for sets of records: JSON with a safe
// subset of MongoDB's query operators, parsed once into a typed tree that is
// checked against a form's fields and has its variables substituted. Each
// store backend compiles the tree into its own query.
package filter

// Expr is a node of a checked filter tree.
type Expr interface{ isExpr() }

// And holds when every item holds.
type And struct{ Items []Expr }

// Or holds when any item holds.
type Or struct{ Items []Expr }

// Not holds when X does not.
type Not struct{ X Expr }

func (And) isExpr() {}
func (Or) isExpr()  {}
func (Not) isExpr() {}
