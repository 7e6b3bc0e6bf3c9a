//go:build linux

package gateway

import (
	"bufio"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWatches(t *testing.T) {
	info := "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n" +
		"tfd:        7 events:       19 data:                7  pos:0 ino:3a2f sdev:8\n" +
		"tfd:       12 events: 80002019 data:     7f0c3a2d0008  pos:0 ino:3a31 sdev:8\n"
	for fd, want := range map[int]bool{7: true, 12: true, 1: false, 70: false, 19: false} {
		if got := watches(info, fd); got != want {
			t.Errorf("watches(fd %d) = %v, want %v", fd, got, want)
		}
	}
}

// The runtime's epoll instance is the one that watches a listener net
// opened; a descriptor no poller watches finds none.
func TestRuntimeEpoll(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lfd, err := listenerFD(ln)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := runtimeEpoll(lfd)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(ep))
	if err != nil || !watches(string(info), lfd) {
		t.Fatalf("epoll %d does not list the listener's fd %d: %v\n%s", ep, lfd, err, info)
	}
	f, err := os.Open(os.DevNull) // a regular file: never in the poller
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := runtimeEpoll(int(f.Fd())); err == nil || !strings.Contains(err.Error(), "found no epoll instance") {
		t.Errorf("a descriptor no poller watches: %v", err)
	}
}

// With one P, as on a gateway given one core, the poller hands every
// network event to the runtime while its window lasts, round trips go on
// as before, and once the window has passed it stops polling until the
// next kick.
func TestBusyPoller_PollsThenIdles(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echo(ln)
	ctx, cancel := context.WithCancel(context.Background())
	const window = 50 * time.Millisecond
	bp, err := newBusyPoller(ctx, window, ln)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrips := func(n int, kick bool) {
		t.Helper()
		for i := range n {
			if kick {
				bp.kick()
			}
			msg := "ping " + strconv.Itoa(i) + "\n"
			if _, err := c.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			if got, err := r.ReadString('\n'); err != nil || got != msg {
				t.Fatalf("round trip %d: %q, %v", i, got, err)
			}
		}
	}
	roundTrips(200, true)
	if bp.wakes.Load() == 0 {
		t.Fatal("the poller handed no event to the runtime in 200 round trips")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bp.idle.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("still polling %s after the last event (window %s)", 5*time.Second, window)
		}
		time.Sleep(window / 5)
	}
	before := bp.wakes.Load()
	roundTrips(50, false) // traffic without a kick: the poller stays idle
	if after := bp.wakes.Load(); after != before {
		t.Errorf("the idle poller handed over %d events", after-before)
	}
	roundTrips(50, true)
	if bp.wakes.Load() == before {
		t.Error("a kick did not start polling again")
	}
	cancel()
	done := make(chan struct{})
	go func() { bp.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not stop when its context ended")
	}
}

// echo answers each line on each connection with the same line.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := c.Write([]byte(line)); err != nil {
					return
				}
			}
		}()
	}
}

// An event that never clears (as the runtime's level-triggered wake-up
// eventfd, written in a race, would be) does not keep the poller polling
// once requests have stopped.
func TestBusyPoller_StopsOnAStaleEvent(t *testing.T) {
	efd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 1, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0) // readable until read
	if errno != 0 {
		t.Fatal(errno)
	}
	defer syscall.Close(int(efd))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bp, err := startBusyPoller(ctx, 5*time.Millisecond, int(efd)) // a window no scheduling delay outlasts
	if err != nil {
		t.Fatal(err)
	}
	bp.kick()
	deadline := time.Now().Add(5 * time.Second)
	for bp.wakes.Load() == 0 || !bp.idle.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %d hand-overs, idle %v; want some, and idle once %s passed without a request", bp.wakes.Load(), bp.idle.Load(), bp.quiet)
		}
		time.Sleep(time.Millisecond)
	}
	n := bp.wakes.Load()
	time.Sleep(20 * time.Millisecond)
	if m := bp.wakes.Load(); m != n {
		t.Errorf("idle, yet %d more hand-overs", m-n)
	}
	cancel()
	bp.wait()
}
