package gateway

import (
	"testing"
	"time"
)

func TestHTTPDate_OneFormatPerSecond(t *testing.T) {
	var d httpDate
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 100, time.FixedZone("CET", 3600))
	a := d.header(t0)
	if len(a) != 1 || a[0] != "Tue, 01 Dec 2026 09:00:00 GMT" || cap(a) != 1 {
		t.Fatalf("Date %q (cap %d)", a, cap(a))
	}
	if b := d.header(t0.Add(900 * time.Millisecond)); &b[0] != &a[0] {
		t.Fatal("formatted again within the second")
	}
	if c := d.header(t0.Add(time.Second)); c[0] != "Tue, 01 Dec 2026 09:00:01 GMT" {
		t.Fatalf("next second: %q", c)
	}
}
