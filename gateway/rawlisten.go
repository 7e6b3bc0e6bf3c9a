package gateway

import "net"

// rawListener hands out its connections as rawConns, so the data plane's
// reads and writes of clients avoid the scheduler's syscall state as the
// upstream connections do (rawconn_linux.go).
type rawListener struct{ net.Listener }

func (l rawListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newRawConn(c), nil
}
