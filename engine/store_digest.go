package engine

// TableDigest is a logical hash of one table or collection of a store: its
// row count and a SHA-256 over every row in key order, so two stores with
// the same contents give the same digest whatever their physical layout.
type TableDigest struct {
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}
