//go:build !linux

package gateway

import "net"

// newRawConn returns c: raw socket calls are written for Linux only
// (rawconn_linux.go), elsewhere the standard library's calls serve.
func newRawConn(c net.Conn) net.Conn { return c }
