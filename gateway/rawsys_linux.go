//go:build linux && !race && !386

package gateway

import (
	"syscall"
	"unsafe"
)

// sysRead is read(2) without the scheduler's syscall bookkeeping.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

// sysSend is send(2) with MSG_NOSIGNAL (a reset peer is an error, never a
// SIGPIPE) without the scheduler's syscall bookkeeping.
func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	return int(r), e
}
