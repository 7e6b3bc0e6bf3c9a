//go:build linux

package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// busyPoller keeps the gateway's thread awake for Options.BusyPoll after
// each network event, polling instead of sleeping in the kernel.
//
// Why: a proxy whose core goes idle between events is woken by an
// interrupt that the core which sent the event pays for (in a virtual
// machine, an exit to the hypervisor). Behind a proxy that sleeps about
// 1.6 times a request, the upstream and the load generator on the other
// core lose that much of their core to waking it. Polling spends the
// proxy's own idle time instead.
//
// How: the Go runtime polls its network poller without sleeping only when
// it has no goroutine to run, and has no option to spin before it sleeps.
// So a goroutine watches the runtime's epoll instance from a second epoll
// instance (an epoll descriptor is itself pollable, and watching it takes
// nothing from it). While nothing is ready it yields, so other goroutines
// run. When the runtime's instance has events it parks; the runtime then
// finds no goroutine to run, polls the network without blocking, and
// wakes the goroutines whose sockets are ready, among them a sentinel
// reading an eventfd the poller wrote to before parking: the sentinel
// wakes the poller again. Once the window has passed with no event the
// poller waits for the next request (kick) and the thread sleeps as
// before, so an idle gateway costs nothing. It also stops once no request
// has started for quiet, whatever it sees: the runtime's wake-up eventfd
// is level-triggered and drained only by a poll that blocks, which never
// happens while the poller runs, so a wake-up written in a race would
// otherwise keep it polling for ever.
//
// Hand-written because neither the runtime nor any library offers a
// busy-polling network poller for Go; Linux's SO_BUSY_POLL polls a
// network card's queue and does nothing for loopback or for the
// scheduler's sleeps.
type busyPoller struct {
	window   time.Duration
	quiet    time.Duration // stop this long after the last request's kick
	outer    int           // epoll instance watching the runtime's
	efd      *os.File      // the sentinel's eventfd, in the runtime's poller
	efdNum   uintptr       // its descriptor (efd.Fd would make it blocking)
	wake     chan struct{}
	kickc    chan struct{}
	idle     atomic.Bool
	requests atomic.Int64 // kicks so far
	wakes    atomic.Int64 // times the poller handed events to the runtime
	done     sync.WaitGroup
}

// newBusyPoller starts polling for window after each kick until ctx
// ends. ln must be a listener the runtime polls (any net.Listen one): its
// descriptor tells which epoll instance is the runtime's.
func newBusyPoller(ctx context.Context, window time.Duration, ln net.Listener) (*busyPoller, error) {
	lfd, err := listenerFD(ln)
	if err != nil {
		return nil, err
	}
	inner, err := runtimeEpoll(lfd)
	if err != nil {
		return nil, err
	}
	return startBusyPoller(ctx, window, inner)
}

// busyPollQuiet is the least time a poller polls on after the last
// request started (quiet): ten windows, and no less than 10 ms.
const busyPollQuiet = 10 * time.Millisecond

// startBusyPoller polls the epoll instance inner (the runtime's).
func startBusyPoller(ctx context.Context, window time.Duration, inner int) (*busyPoller, error) {
	outer, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("busy poll: epoll_create1: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(inner)}
	if err := syscall.EpollCtl(outer, syscall.EPOLL_CTL_ADD, inner, &ev); err != nil {
		syscall.Close(outer)
		return nil, fmt.Errorf("busy poll: watch the runtime's epoll: %w", err)
	}
	efd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Close(outer)
		return nil, fmt.Errorf("busy poll: eventfd: %w", errno)
	}
	b := &busyPoller{window: window, quiet: max(10*window, busyPollQuiet), outer: outer, efd: os.NewFile(efd, "busy-poll eventfd"), efdNum: efd,
		wake: make(chan struct{}, 1), kickc: make(chan struct{}, 1)}
	b.idle.Store(true)
	b.done.Add(2)
	go b.sentinel()
	go b.run(ctx)
	return b, nil
}

// kick starts a polling window if the poller is waiting; the data plane
// calls it for every request, which costs an atomic add while polling.
func (b *busyPoller) kick() {
	b.requests.Add(1)
	if b.idle.Load() && b.idle.CompareAndSwap(true, false) {
		select {
		case b.kickc <- struct{}{}:
		default:
		}
	}
}

// run polls for window after each kick or event until ctx ends, then
// closes what newBusyPoller opened.
func (b *busyPoller) run(ctx context.Context) {
	defer b.done.Done()
	defer b.efd.Close() // ends the sentinel
	defer syscall.Close(b.outer)
	for {
		select {
		case <-b.kickc:
		case <-ctx.Done():
			return
		}
		if !b.poll(ctx) {
			return
		}
		b.idle.Store(true)
	}
}

// poll polls until window has passed since the last event, or quiet
// since the last request; false when ctx ended.
func (b *busyPoller) poll(ctx context.Context) bool {
	var ev [1]syscall.EpollEvent
	last := time.Now()
	lastReq, reqs := last, b.requests.Load()
	for now := last; now.Sub(last) < b.window && now.Sub(lastReq) < b.quiet; now = time.Now() {
		if r := b.requests.Load(); r != reqs {
			lastReq, reqs = now, r
		}
		select {
		case <-ctx.Done():
			return false
		default:
		}
		n, _, _ := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(b.outer), uintptr(unsafe.Pointer(&ev[0])), 1, 0, 0, 0)
		if int(n) <= 0 { // nothing ready (or EINTR): let the others run
			runtime.Gosched()
			continue
		}
		handed, alive := b.handOver(ctx)
		if !alive {
			return false
		}
		if !handed {
			return true // stop polling until the next kick
		}
		last = time.Now() // the window runs from when the runtime has the events
	}
	return true
}

// handOver has the runtime poll the network: it writes the sentinel's
// eventfd and parks, so the runtime finds nothing to run, polls, and wakes
// the sentinel with the goroutines whose sockets are ready. handed is
// false if the eventfd could not be written, alive false if ctx ended.
func (b *busyPoller) handOver(ctx context.Context) (handed, alive bool) {
	one := [8]byte{1, 0, 0, 0, 0, 0, 0, 0}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, b.efdNum, uintptr(unsafe.Pointer(&one[0])), 8); errno != 0 {
		return false, true
	}
	b.wakes.Add(1)
	select {
	case <-b.wake:
		return true, true
	case <-ctx.Done():
		return true, false
	}
}

// sentinel wakes the poller each time it wrote to the eventfd.
func (b *busyPoller) sentinel() {
	defer b.done.Done()
	var buf [8]byte
	for {
		if _, err := b.efd.Read(buf[:]); err != nil {
			return // closed by run
		}
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// wait waits for the poller's goroutines to end (after ctx ended).
func (b *busyPoller) wait() { b.done.Wait() }

// listenerFD is ln's socket descriptor.
func listenerFD(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("busy poll: the data listener (%T) has no socket descriptor", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("busy poll: %w", err)
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, fmt.Errorf("busy poll: %w", err)
	}
	return fd, nil
}

// runtimeEpoll finds the epoll instance that watches fd: the runtime's
// poller, which registers every socket net opens. The runtime does not
// name its descriptor, so the process's epoll descriptors are read from
// /proc (fdinfo lists what each one watches).
func runtimeEpoll(fd int) (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, fmt.Errorf("busy poll: %w", err)
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err == nil && watches(string(info), fd) {
			return n, nil
		}
	}
	return -1, errors.New("busy poll: found no epoll instance watching the data listener; the runtime's poller could not be identified")
}

// watches reports whether an epoll descriptor's fdinfo lists fd as a
// target ("tfd:        7 events: ...").
func watches(fdinfo string, fd int) bool {
	for line := range strings.Lines(fdinfo) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "tfd:" && f[1] == strconv.Itoa(fd) {
			return true
		}
	}
	return false
}
