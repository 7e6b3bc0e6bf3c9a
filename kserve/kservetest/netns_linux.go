package kservetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// netns is a network namespace holding one process: only a loopback
// interface, so nothing the process does reaches another host, and the
// ports it binds (Knative's controller and autoscaler both bind :8080,
// unconditionally, and its webhook every interface) are its own.
// Connections to the forwarded loopback ports (the API server's) are
// relayed to the same ports of the test's own loopback; connections to the
// exposed ports of the test's loopback (the webhook's) are relayed into
// the namespace.
type netns struct {
	listeners []net.Listener
	dials     chan dialRequest // served by the namespace's thread
	done      chan struct{}    // closed once the namespace's thread has ended
	wg        sync.WaitGroup
}

// dialRequest asks the namespace's thread for a connection to a port of
// the namespace's loopback (a socket is in the namespace of the thread
// that creates it).
type dialRequest struct {
	port  int
	reply chan net.Conn // nil on failure
}

// startInNetns starts cmd in a new network namespace that relays the
// loopback ports in forward to the host's loopback, and the host's
// loopback ports in expose (held free by the caller's listeners, which it
// hands over) into the namespace. The namespace lives on an OS thread of
// its own, locked for as long as the process runs: the child inherits the
// thread's namespace, and its parent-death signal fires when that thread
// ends, so the thread ends only after the process has. exited is closed
// by the caller once cmd has exited.
func startInNetns(cmd *exec.Cmd, forward []int, expose []net.Listener, exited <-chan struct{}) (*netns, error) {
	ns := &netns{done: make(chan struct{}), dials: make(chan dialRequest)}
	for _, l := range expose {
		ns.listeners = append(ns.listeners, l)
		ns.wg.Add(1)
		go ns.relay(l, l.Addr().(*net.TCPAddr).Port, ns.dialInside)
	}
	started := make(chan error, 1)
	go func() {
		defer close(ns.done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := ns.enter(forward); err != nil {
			started <- err
			return
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		ns.serveDials(exited)
	}()
	if err := <-started; err != nil {
		ns.close()
		return nil, err
	}
	return ns, nil
}

// enter moves the calling (locked) thread into a new network namespace,
// brings its loopback interface up and listens on the forwarded ports.
func (ns *netns) enter(forward []int) error {
	if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
		if errors.Is(err, syscall.EPERM) { // an environment without the capability: tests skip
			return fmt.Errorf("%w: a network namespace needs CAP_SYS_ADMIN: %v", ErrNotInstalled, err)
		}
		return fmt.Errorf("new network namespace: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("bring up loopback in the new network namespace: %w", err)
	}
	for _, port := range forward {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		ns.listeners = append(ns.listeners, l)
		ns.wg.Add(1)
		go ns.relay(l, port, dialHost) // a new goroutine: it runs outside the namespace
	}
	return nil
}

// loopbackUp sets lo up (SIOCSIFFLAGS), which gives it 127.0.0.1.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the name, then the flags (short)
	copy(ifr[:], "lo")
	binary.NativeEndian.PutUint16(ifr[syscall.IFNAMSIZ:], syscall.IFF_UP|syscall.IFF_LOOPBACK|syscall.IFF_RUNNING)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); errno != 0 {
		return errno
	}
	return nil
}

// serveDials dials inside the namespace for relay until the process has
// exited; it runs on the namespace's thread.
func (ns *netns) serveDials(exited <-chan struct{}) {
	for {
		select {
		case <-exited:
			return
		case req := <-ns.dials:
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", req.port))
			if err != nil {
				conn = nil
			}
			req.reply <- conn
		}
	}
}

// dialInside connects to a port of the namespace's loopback.
func (ns *netns) dialInside(port int) (net.Conn, error) {
	req := dialRequest{port: port, reply: make(chan net.Conn, 1)}
	select {
	case ns.dials <- req:
	case <-ns.done:
		return nil, net.ErrClosed
	}
	if conn := <-req.reply; conn != nil {
		return conn, nil
	}
	return nil, fmt.Errorf("dial port %d in the namespace", port)
}

// dialHost connects to a port of the host's loopback.
func dialHost(port int) (net.Conn, error) {
	return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

// relay accepts connections on l and joins each to port, dialled by dial.
func (ns *netns) relay(l net.Listener, port int, dial func(int) (net.Conn, error)) {
	defer ns.wg.Done()
	for {
		in, err := l.Accept()
		if err != nil {
			return // closed
		}
		go func() {
			defer in.Close()
			out, err := dial(port)
			if err != nil {
				return
			}
			defer out.Close()
			go func() {
				_, _ = io.Copy(out, in)
				if cw, ok := out.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}()
			_, _ = io.Copy(in, out)
		}()
	}
}

// close stops relaying; call it after the process has exited.
func (ns *netns) close() error {
	var errs []error
	for _, l := range ns.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	ns.wg.Wait()
	return errors.Join(errs...)
}
