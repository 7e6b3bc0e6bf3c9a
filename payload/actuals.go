package payload

import (
	"container/list"
	"math"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
)

// Actual is the observed outcome of one request, posted by request id.
type Actual struct {
	RequestID string  `json:"request_id"`
	Value     float64 `json:"actual"`
}

// JoinResult counts what a batch of actuals joined.
type JoinResult struct {
	Received  int `json:"received"`
	Matched   int `json:"matched"`   // joined to a kept prediction and counted
	Stale     int `json:"stale"`     // joined to a prediction of an earlier window: not counted
	Unmatched int `json:"unmatched"` // no kept prediction has this request id
}

// ActualsStats are the store's counters since it was created.
type ActualsStats struct {
	Kept      int   `json:"kept"`      // request ids kept for joining
	Rows      int   `json:"rows"`      // predictions kept (a batch request keeps one per row)
	Recorded  int64 `json:"recorded"`  // requests recorded
	Evicted   int64 `json:"evicted"`   // dropped by MaxPredictions before any actual arrived
	Expired   int64 `json:"expired"`   // dropped by MaxAge before any actual arrived
	Matched   int64 `json:"matched"`   // actuals joined and counted
	Stale     int64 `json:"stale"`     // actuals joined to a prediction of an earlier window
	Unmatched int64 `json:"unmatched"` // actuals for unknown (never seen or dropped) request ids
}

// Actuals joins actuals posted later to the production predictions
// recorded by request id, and keeps each version's accuracy
// (modelgate.Accuracy) for the current measurement window of its model.
// It is the incremental form of judge.JoinActuals: a request answered with
// several rows counts each row against the one actual, a repeated actual
// replaces the earlier one, non-finite values are skipped, and an actual
// whose request id is not (or no longer) kept is counted as unmatched, not
// buffered — actuals must come after their predictions.
//
// Memory is bounded: at most MaxPredictions predicted rows (about 300 bytes
// each at most, so about 30 MB at the default) are kept, for at most
// MaxAge; the oldest go first. Joined accuracies are a few numbers per
// (model, version) of the current window. Safe for concurrent use. Its
// ServeHTTP answers POST /actuals (see ServeHTTP).
type Actuals struct {
	// MaxPredictions bounds the predicted rows kept for joining. Zero or
	// less means the default, 100,000.
	MaxPredictions int
	// MaxAge is how long a prediction can be joined. Zero or less means
	// the default, 24h.
	MaxAge time.Duration
	// MaxBodyBytes bounds a POST /actuals body. Zero or less means the
	// default, 8 MiB.
	MaxBodyBytes int64
	// Now is the clock. Default (nil) time.Now.
	Now func() time.Time

	mu      sync.Mutex
	byID    map[string]*list.Element // request id → element of order holding a *record
	order   *list.List               // oldest first
	rows    int
	windows map[string]time.Time // model → start of its current window
	acc     map[accKey]*modelgate.Accuracy
	stats   ActualsStats
}

type record struct {
	id, model, version string
	window, at         time.Time
	preds              []float64
	joined             bool
	actual             float64 // the joined actual, when joined
}

type accKey struct {
	model, version string
	window         time.Time
}

// Defaults of Actuals' limits.
const (
	DefaultMaxPredictions = 100_000
	DefaultMaxAge         = 24 * time.Hour
	defaultMaxBodyBytes   = 8 << 20
)

// NewActuals returns an empty store; set the exported fields before use.
func NewActuals() *Actuals {
	return &Actuals{
		byID:    map[string]*list.Element{},
		order:   list.New(),
		windows: map[string]time.Time{},
		acc:     map[accKey]*modelgate.Accuracy{},
	}
}

func (a *Actuals) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// Record keeps the predictions version of model answered for requestID in
// the measurement window that started at window (the current traffic
// split's start). A window later than the model's current one starts a new
// window and drops the accuracies of earlier ones; predictions of an
// earlier window are not kept. A repeated request id replaces the earlier
// predictions. Requests without an id or predictions are ignored.
func (a *Actuals) Record(model, version string, window time.Time, requestID string, predictions []float64) {
	if requestID == "" || len(predictions) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.windows[model]; ok && window.Before(cur) {
		return
	} else if !ok || window.After(cur) {
		a.startWindow(model, window)
	}
	if el, ok := a.byID[requestID]; ok {
		a.unjoin(el.Value.(*record))
		a.remove(el)
	}
	rec := &record{id: requestID, model: model, version: version, window: window, at: a.now(),
		preds: append([]float64(nil), predictions...)}
	a.byID[requestID] = a.order.PushBack(rec)
	a.rows += len(rec.preds)
	a.stats.Recorded++
	a.evict()
}

// startWindow makes window model's current window.
func (a *Actuals) startWindow(model string, window time.Time) {
	a.windows[model] = window
	for k := range a.acc {
		if k.model == model && !k.window.Equal(window) {
			delete(a.acc, k)
		}
	}
}

// Join joins actuals to the kept predictions.
func (a *Actuals) Join(actuals ...Actual) JoinResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evict()
	res := JoinResult{Received: len(actuals)}
	for _, act := range actuals {
		el, ok := a.byID[act.RequestID]
		if !ok || math.IsNaN(act.Value) || math.IsInf(act.Value, 0) {
			res.Unmatched++
			continue
		}
		rec := el.Value.(*record)
		if !rec.window.Equal(a.windows[rec.model]) {
			res.Stale++
			continue
		}
		a.unjoin(rec)
		rec.joined, rec.actual = true, act.Value
		acc := a.accuracy(rec)
		for _, p := range rec.preds {
			if !math.IsNaN(p) && !math.IsInf(p, 0) {
				acc.Add(p, act.Value)
			}
		}
		res.Matched++
	}
	a.stats.Matched += int64(res.Matched)
	a.stats.Stale += int64(res.Stale)
	a.stats.Unmatched += int64(res.Unmatched)
	return res
}

// accuracy returns the accumulator of rec's model, version and window.
func (a *Actuals) accuracy(rec *record) *modelgate.Accuracy {
	k := accKey{rec.model, rec.version, rec.window}
	acc, ok := a.acc[k]
	if !ok {
		acc = &modelgate.Accuracy{}
		a.acc[k] = acc
	}
	return acc
}

// unjoin takes a joined record's contribution out of its window's
// accuracy, so that a repeated actual or request id replaces it.
func (a *Actuals) unjoin(rec *record) {
	if !rec.joined {
		return
	}
	rec.joined = false
	acc, ok := a.acc[accKey{rec.model, rec.version, rec.window}]
	if !ok {
		return
	}
	y := math.Abs(rec.actual)
	for _, p := range rec.preds {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			continue
		}
		e := math.Abs(p - rec.actual)
		acc.Count--
		acc.SumAbsError -= e
		acc.SumSqAbsErr -= e * e
		acc.SumAbsActual -= y
	}
}

// Accuracy returns the accuracy joined so far for version of model in the
// window that started at window: Count 0 (never nil) when nothing joined,
// since the store is collecting actuals.
func (a *Actuals) Accuracy(model, version string, window time.Time) *modelgate.Accuracy {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := modelgate.Accuracy{}
	if acc, ok := a.acc[accKey{model, version, window}]; ok {
		out = *acc
	}
	return &out
}

// Stats returns the store's counters.
func (a *Actuals) Stats() ActualsStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evict()
	s := a.stats
	s.Kept, s.Rows = len(a.byID), a.rows
	return s
}

// evict drops the oldest predictions while more than MaxPredictions rows
// are kept or they are older than MaxAge. Joined accuracies stay.
func (a *Actuals) evict() {
	now := a.now()
	maxAge, maxRows := a.MaxAge, a.MaxPredictions
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if maxRows <= 0 {
		maxRows = DefaultMaxPredictions
	}
	for el := a.order.Front(); el != nil; el = a.order.Front() {
		rec := el.Value.(*record)
		switch {
		case now.Sub(rec.at) > maxAge:
			if !rec.joined {
				a.stats.Expired++
			}
		case a.rows > maxRows:
			if !rec.joined {
				a.stats.Evicted++
			}
		default:
			return
		}
		a.remove(el)
	}
}

func (a *Actuals) remove(el *list.Element) {
	rec := a.order.Remove(el).(*record)
	delete(a.byID, rec.id)
	a.rows -= len(rec.preds)
}
