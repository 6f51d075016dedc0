//go:build !unix

package storetest

import "time"

// ProcessCPU is not measured here; it is 0.
func ProcessCPU() time.Duration { return 0 }

// ProcessSwitches is not measured here; it is 0.
func ProcessSwitches() int64 { return 0 }
