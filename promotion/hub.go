package promotion

import (
	"sync"

	"github.com/modelgate/modelgate"
)

// hubKeep is how many of a promotion's latest events the hub keeps for a
// client that reconnects.
const hubKeep = 1000

// hub numbers the progress events of the promotions this process runs,
// keeps the latest of each and hands them to followers.
type hub struct {
	mu    sync.Mutex
	feeds map[string]*feed // by promotion ID
}

type feed struct {
	seq    int64
	events []modelgate.Event
	subs   map[chan modelgate.Event]struct{}
}

func (h *hub) feed(id string) *feed {
	if h.feeds == nil {
		h.feeds = map[string]*feed{}
	}
	f := h.feeds[id]
	if f == nil {
		f = &feed{subs: map[chan modelgate.Event]struct{}{}}
		h.feeds[id] = f
	}
	return f
}

// publish numbers e and passes it on; a follower too slow to take it
// misses it (and can ask again from its last number).
func (h *hub) publish(e modelgate.Event) modelgate.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feed(e.PromotionID)
	f.seq++
	e.Seq = f.seq
	f.events = append(f.events, e)
	if len(f.events) > hubKeep {
		f.events = f.events[len(f.events)-hubKeep:]
	}
	for ch := range f.subs {
		select {
		case ch <- e:
		default:
		}
	}
	return e
}

// subscribe returns the kept events numbered after `after`, a channel of
// the next ones (closed when the job ends) and a function to stop.
func (h *hub) subscribe(id string, after int64) ([]modelgate.Event, <-chan modelgate.Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feed(id)
	var past []modelgate.Event
	for _, e := range f.events {
		if e.Seq > after {
			past = append(past, e)
		}
	}
	ch := make(chan modelgate.Event, 64)
	f.subs[ch] = struct{}{}
	return past, ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
		if f.seq == 0 && len(f.subs) == 0 {
			delete(h.feeds, id) // followed, never run here: keep nothing
		}
	}
}

// finish ends a job's feed: its followers' channels close and its events
// are dropped (the store has how it ended); the numbering goes on should
// the promotion run here again.
func (h *hub) finish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[id]
	if f == nil {
		return
	}
	for ch := range f.subs {
		close(ch)
		delete(f.subs, ch)
	}
	f.events = nil
}
