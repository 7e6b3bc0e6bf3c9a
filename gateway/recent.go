package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/modelgate/modelgate"
)

// Recent-request defaults.
const (
	defaultRecentRequests = 1000
	defaultRecentBytes    = 8 << 20
)

var _ modelgate.RequestSampler = (*Deployer)(nil)

// RecentAnswer is the body of GET /admin/models/{model}/recent.
type RecentAnswer struct {
	// Instances are production's latest instances as V1 instances (V2
	// rows converted), newest last.
	Instances []json.RawMessage `json:"instances"`
}

// recentRequests keeps one model's latest production instances, encoded,
// in a ring bounded by count and by bytes. Memory only: they are request
// data, never written to disk.
type recentRequests struct {
	mu       sync.Mutex
	ring     []json.RawMessage // len is the count bound
	next     int               // slot of the next instance
	held     int
	bytes    int
	maxBytes int
}

// add keeps the instances, oldest first, evicting the oldest kept ones
// beyond either bound; an instance larger than the byte bound is skipped.
func (r *recentRequests) add(encoded []json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range encoded {
		if len(b) > r.maxBytes {
			continue
		}
		if r.held == len(r.ring) {
			r.evict()
		}
		r.ring[r.next] = b
		r.next = (r.next + 1) % len(r.ring)
		r.held++
		r.bytes += len(b)
		for r.bytes > r.maxBytes {
			r.evict()
		}
	}
}

// evict drops the oldest instance held.
func (r *recentRequests) evict() {
	i := (r.next - r.held + len(r.ring)) % len(r.ring)
	r.bytes -= len(r.ring[i])
	r.ring[i] = nil
	r.held--
}

// last returns up to n of the newest instances, newest last.
func (r *recentRequests) last(n int) []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = min(n, r.held)
	out := make([]json.RawMessage, n)
	for k := range n {
		out[k] = r.ring[(r.next-n+k+len(r.ring))%len(r.ring)]
	}
	return out
}

// recordRecent keeps the tail of a production request's instances that
// the bound can hold. It runs after the answer is written.
func (s *Server) recordRecent(model string, instances []any) {
	if s.opts.RecentRequests <= 0 {
		return
	}
	tail := instances[max(0, len(instances)-s.opts.RecentRequests):]
	// One buffer holds the tail's encodings one after another and the ring
	// keeps slices of it: one allocation, not one per instance. The ring
	// evicts oldest first, so only its oldest request can pin bytes it no
	// longer holds.
	buf := make([]byte, 0, 64*len(tail)) // grown when instances are larger
	ends := make([]int, 0, len(tail))
	for _, inst := range tail {
		start := len(buf)
		b, ok := appendValue(buf, inst)
		if !ok { // not a value a body decodes to: encoding/json decides
			mb, err := json.Marshal(inst)
			if err != nil {
				continue
			}
			b = append(b[:start], mb...)
		}
		if len(b)-start > s.opts.RecentBytes {
			buf = b[:start] // the ring would skip it: do not keep its bytes
			continue
		}
		buf = b
		ends = append(ends, len(buf))
	}
	encoded := make([]json.RawMessage, len(ends))
	start := 0
	for k, end := range ends {
		encoded[k] = buf[start:end:end]
		start = end
	}
	s.recentOf(model, true).add(encoded)
}

// recentOf returns model's recent requests; nil when there are none and
// create is false.
func (s *Server) recentOf(model string, create bool) *recentRequests {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	r := s.recent[model]
	if r == nil && create {
		r = &recentRequests{ring: make([]json.RawMessage, s.opts.RecentRequests), maxBytes: s.opts.RecentBytes}
		s.recent[model] = r
	}
	return r
}

// getRecent answers GET /admin/models/{model}/recent?n=N: up to N (default
// all kept) of production's latest instances, newest last; none, not an
// error, when production has seen no traffic.
func (s *Server) getRecent(_ http.ResponseWriter, r *http.Request) (any, error) {
	name, err := modelName(r)
	if err != nil {
		return nil, err
	}
	n := s.opts.RecentRequests
	if q := r.URL.Query().Get("n"); q != "" {
		if n, err = strconv.Atoi(q); err != nil || n < 1 {
			return nil, modelgate.Errorf(modelgate.EINVALID, "n must be a positive integer, not %q", q)
		}
	}
	ans := RecentAnswer{Instances: []json.RawMessage{}}
	if rr := s.recentOf(name, false); rr != nil {
		ans.Instances = rr.last(n)
	}
	return ans, nil
}

// RecentRequests implements modelgate.RequestSampler: up to n of model's
// latest production instances (raw V1 instances, newest last), none when
// production has seen no traffic or n < 1. The gateway keeps the last
// Options.RecentRequests (default 1000) in memory only.
func (d *Deployer) RecentRequests(ctx context.Context, model string, n int) ([]json.RawMessage, error) {
	if n < 1 {
		return nil, nil
	}
	var ans RecentAnswer
	if err := d.admin.do(ctx, http.MethodGet, modelPath(model, "/recent?n="+strconv.Itoa(n)), nil, &ans); err != nil {
		return nil, err
	}
	return ans.Instances, nil
}
