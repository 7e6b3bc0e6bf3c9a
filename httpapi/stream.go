package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// FollowPromotion reads the promotion's event stream, passing each progress
// event to fn, until its end event. A stream that breaks (the server
// restarted, the network dropped) is opened again with the last event's id
// for up to Reconnect, so no event is passed twice and the end is not
// missed. after is not sent: event ids are the server's.
func (c *Client) FollowPromotion(ctx context.Context, id string, _ int64, fn func(modelgate.Event)) (*modelgate.Promotion, error) {
	var last string
	var broken time.Time // when the stream first broke since it last worked
	for {
		end, connected, err := c.stream(ctx, id, &last, fn)
		switch {
		case err == nil:
			return end, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE:
			return nil, err
		}
		if connected || broken.IsZero() {
			broken = time.Now()
		}
		if time.Since(broken) > c.reconnect() {
			return nil, err
		}
		if c.OnReconnect != nil {
			c.OnReconnect(err)
		}
		if err := modelgate.Sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
}

func (c *Client) reconnect() time.Duration {
	if c.Reconnect > 0 {
		return c.Reconnect
	}
	return 2 * time.Minute
}

// stream reads one connection of the event stream; connected says whether
// the server answered with a stream at all.
func (c *Client) stream(ctx context.Context, id string, last *string, fn func(modelgate.Event)) (*modelgate.Promotion, bool, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if *last != "" {
		h.Set("Last-Event-ID", *last)
	}
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/promotions/"+url.PathEscape(id)+"/events", nil, h)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	var ev sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if !ev.add(sc.Text()) {
			continue
		}
		end, err := ev.dispatch(last, fn)
		if end != nil || err != nil {
			return end, true, err
		}
		ev = sseEvent{}
	}
	return nil, true, modelgate.Errorf(modelgate.EUNAVAILABLE, "the event stream of promotion %s broke before its end: %v", id, sc.Err())
}

// sseEvent is one event being read off a stream.
type sseEvent struct {
	id, name string
	data     strings.Builder
}

// add takes one line; true when the line ends the event.
func (e *sseEvent) add(line string) bool {
	if line == "" {
		return e.name != "" || e.data.Len() > 0
	}
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "id":
		e.id = value
	case "event":
		e.name = value
	case "data":
		if e.data.Len() > 0 {
			e.data.WriteByte('\n')
		}
		e.data.WriteString(value)
	}
	return false
}

// dispatch handles a complete event: progress goes to fn, end returns the
// promotion.
func (e *sseEvent) dispatch(last *string, fn func(modelgate.Event)) (*modelgate.Promotion, error) {
	switch e.name {
	case "progress":
		var pe modelgate.Event
		if err := json.Unmarshal([]byte(e.data.String()), &pe); err != nil {
			return nil, fmt.Errorf("decode a progress event: %w", err)
		}
		if e.id != "" {
			*last = e.id
		}
		fn(pe)
	case "end":
		var p modelgate.Promotion
		if err := json.Unmarshal([]byte(e.data.String()), &p); err != nil {
			return nil, fmt.Errorf("decode the end event: %w", err)
		}
		return &p, nil
	}
	return nil, nil
}
