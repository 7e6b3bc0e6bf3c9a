package gateway

import (
	"net"
	"net/http"
	"time"
)

// idleUpstreamConns is how many idle connections are kept to one upstream:
// more than the predictions the gateway lets run at once by default
// (MaxConcurrent) plus its mirrors. net/http's default of 2 per host makes
// nearly every request under concurrency dial a new TCP connection, which
// costs the gateway and the upstream more than the request itself.
const idleUpstreamConns = 256

// newTransport is the net/http transport of one upstream, for its probes,
// its metadata and predictions to an https upstream (connPool carries the
// others): connections kept
// alive and reused, no proxy from the environment (the upstream is the
// gateway's own backend, usually on loopback), no compression asked for
// (the gateway reads whole answers on a local network), HTTP/1.1 only.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          idleUpstreamConns,
		MaxIdleConnsPerHost:   idleUpstreamConns,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}
