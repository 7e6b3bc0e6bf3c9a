package gateway

import (
	"runtime/debug"
	"testing"
)

func TestSetGCPercent_UnlessGOGCIsSet(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	if got := SetGCPercent("100"); got != 100 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("GOGC set: the percent became %d", got)
	}
	if got := SetGCPercent(""); got != GCPercent || debug.SetGCPercent(100) != GCPercent {
		t.Fatalf("GOGC unset: the percent is %d, want %d", got, GCPercent)
	}
}
