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

// ProcessSwitches is how many times the process's threads have been
// switched off a processor so far, waiting or preempted: at one client a
// request is a chain, and each goroutine it wakes on an idle processor
// costs a thread a switch or two, which CPU profiles do not show.
func ProcessSwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw + ru.Nivcsw
}
