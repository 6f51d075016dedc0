//go:build !unix

package sqlite_test

import "time"

// processCPU is not measured here; benchmarks report 0 cpu-ns/op.
func processCPU() time.Duration { return 0 }
