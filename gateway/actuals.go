package gateway

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/modelgate/modelgate"
)

// HeaderRequestID identifies a production request: the client's value is
// kept, a missing one is generated, and either is echoed in the answer.
// Actuals posted later name the request by it.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds a client's request id; a longer one is replaced.
const maxRequestIDLen = 200

// Actuals joins actuals posted later to production predictions by request
// id (payload.Actuals implements it; cmd/modelgate wires it in). With
// Options.Actuals set, the gateway records every successful production
// prediction, serves POST /actuals with the store's handler, and reports
// each revision's Accuracy in /observe.
type Actuals interface {
	// Record keeps the predictions version of model answered for
	// requestID in the measurement window that started at window.
	Record(model, version string, window time.Time, requestID string, predictions []float64)
	// Accuracy returns the accuracy joined so far for version in that
	// window; Count 0 when none has joined.
	Accuracy(model, version string, window time.Time) *modelgate.Accuracy
	// ServeHTTP answers POST /actuals.
	http.Handler
}

// requestID returns r's request id, or a new random one (a UUID v4).
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && len(id) <= maxRequestIDLen {
		return id
	}
	// The runtime's generator (ChaCha8, seeded by the system) gives ids as
	// unpredictable in practice at a tenth of crypto/rand's cost.
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	hex.Encode(out[9:13], b[4:6])
	hex.Encode(out[14:18], b[6:8])
	hex.Encode(out[19:23], b[8:10])
	hex.Encode(out[24:36], b[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// recordPrediction hands a successful production answer to Options.Actuals.
func (s *Server) recordPrediction(model string, t target, id string, a answer) {
	if s.opts.Actuals == nil || t.stats == nil || a.status != http.StatusOK || len(a.preds) == 0 {
		return
	}
	s.opts.Actuals.Record(model, t.rev.dep.Version, t.window, id, a.preds)
}

// withAccuracy adds the joined accuracy to a revision's figures when
// actuals are collected.
func (s *Server) withAccuracy(model string, window time.Time, rs modelgate.RevisionStats) modelgate.RevisionStats {
	if s.opts.Actuals != nil && rs.Version != "" {
		rs.Accuracy = s.opts.Actuals.Accuracy(model, rs.Version, window)
	}
	return rs
}
