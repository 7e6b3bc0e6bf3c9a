//go:build linux

package gateway

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// Only a deadline earlier than the socket's reaches the socket.
func TestLazyDeadline_SetsOnlyEarlier(t *testing.T) {
	var set []time.Time
	d := lazyDeadline{set: func(t time.Time) error { set = append(set, t); return nil }}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at      time.Time
		reaches bool
	}{
		{t0.Add(10 * time.Second), true},  // none before
		{t0.Add(20 * time.Second), false}, // later
		{time.Time{}, false},              // none: later than any
		{t0.Add(5 * time.Second), true},   // earlier
		{t0.Add(5 * time.Second), false},  // the same
		{time.Unix(1, 0), true},           // net/http's "stop now"
		{t0.Add(30 * time.Second), true},  // later, but replacing a stop
		{t0, true},                        // earlier
	}
	for i, s := range steps {
		before := len(set)
		if err := d.request(s.at); err != nil {
			t.Fatal(err)
		}
		if got := len(set) > before; got != s.reaches {
			t.Fatalf("step %d (%v): reached the socket %v, want %v", i, s.at, got, s.reaches)
		}
	}
	n := len(set)
	if d.retry(os.ErrDeadlineExceeded) || len(set) != n {
		t.Fatal("retry after a deadline that has passed") // t0 has passed
	}
	if d.retry(io.EOF) {
		t.Fatal("retry after an error other than the deadline")
	}
	_ = d.request(time.Time{})
	if !d.retry(os.ErrDeadlineExceeded) || !set[len(set)-1].IsZero() || !d.have.IsZero() {
		t.Fatalf("retry with no deadline asked for: socket's now %v", d.have)
	}
}

// A read stopped by the socket's earlier deadline waits on to the later one
// asked for, and never ends before it.
func TestRawConn_LaterDeadlineHolds(t *testing.T) {
	c, peer := rawPair(t)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	later := time.Now().Add(200 * time.Millisecond)
	_ = c.SetReadDeadline(later)
	_, err := c.Read(make([]byte, 4))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the deadline", err)
	}
	if now := time.Now(); now.Before(later) {
		t.Fatalf("read ended %v before its deadline", later.Sub(now))
	}

	// Cleared: data that comes after the old deadline is read.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_ = c.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(60 * time.Millisecond)
		_, _ = peer.Write([]byte("late"))
	}()
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "late" {
		t.Fatalf("read with the deadline cleared: %q %v", b, err)
	}
}

// An earlier deadline set during a read stops it at once, as net/http
// does to end its background read.
func TestRawConn_EarlierDeadlineStopsRead(t *testing.T) {
	c, _ := rawPair(t)
	_ = c.SetReadDeadline(time.Now().Add(time.Hour))
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 4))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = c.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read not stopped by an earlier deadline")
	}
}

// A write the socket's early deadline interrupts goes on to the end when
// the deadline asked for is later.
func TestRawConn_WriteOutlastsEarlyDeadline(t *testing.T) {
	c, peer := rawPair(t)
	out := bytes.Repeat([]byte("0123456789abcdef"), 1<<21) // 32 MiB, more than the buffers
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	_ = c.SetWriteDeadline(time.Now().Add(time.Minute))
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(80 * time.Millisecond) // past the first deadline, with the buffers full
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(out))))
		got <- b
	}()
	n, err := c.Write(out)
	if err != nil || n != len(out) {
		t.Fatalf("write: %d of %d, %v", n, len(out), err)
	}
	if b := <-got; !bytes.Equal(b, out) {
		t.Fatalf("peer read %d bytes, not what was written", len(b))
	}
}
