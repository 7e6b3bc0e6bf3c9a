//go:build linux && (race || 386)

// The syscall package's calls serve under the race detector, whose
// annotations they carry, and on linux/386, where send(2) goes through
// socketcall and syscall has no SYS_SENDTO for a raw call.

package gateway

import (
	"errors"
	"syscall"
)

// sysRead is the syscall package's read, which the race detector
// annotates as the receiving end of the I/O.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errno(err)
}

// sysSend is the syscall package's write, the sending end of the
// annotation. Go's runtime turns SIGPIPE on a socket into EPIPE.
func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errno(err)
}

func errno(err error) syscall.Errno {
	var e syscall.Errno
	if err != nil && !errors.As(err, &e) {
		return syscall.EIO
	}
	return e
}
