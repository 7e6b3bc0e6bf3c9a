package main

import (
	"os"
	"syscall"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// drillCrashEnv names the step at which the process kills itself (SIGKILL,
// no cleanup) on the first progress event of that step. It exists for the
// reliability drills (RELIABILITY.md), which prove that a promotion killed
// at any step can be aborted or rolled back from a new process within
// seconds; nothing else sets it.
const drillCrashEnv = "MODELGATE_DRILL_CRASH_AT"

// drillCrash wraps a progress callback with the drill's crash point.
func drillCrash(next func(promotion.Event)) func(promotion.Event) {
	at := modelgate.Step(os.Getenv(drillCrashEnv))
	if at == "" {
		return next
	}
	return func(e promotion.Event) {
		if next != nil {
			next(e)
		}
		if e.Step == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}
