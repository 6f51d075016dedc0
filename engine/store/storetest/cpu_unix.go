//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user + system) the process has used so far:
// on a shared machine it says what an operation cost when wall time says
// mostly how busy the neighbours were.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
