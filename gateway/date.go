package gateway

import (
	"net/http"
	"sync/atomic"
	"time"
)

// httpDate is the Date header's value for the current second. net/http
// formats it anew for every answer that has none, a few percent of a
// one-instance request's CPU; a prediction's answer carries this one.
type httpDate struct {
	v atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	val []string // cap 1: an Add to the header copies, never writes here
}

// header returns the Date header's value for now.
func (d *httpDate) header(now time.Time) []string {
	sec := now.Unix()
	if v := d.v.Load(); v != nil && v.sec == sec {
		return v.val
	}
	v := &dateValue{sec: sec, val: []string{now.UTC().Format(http.TimeFormat)}}
	d.v.Store(v)
	return v.val
}
