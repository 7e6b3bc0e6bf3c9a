package modelgate

import "time"

// Event is a promotion's live progress: a line per step message, and one
// per look at the canary window with the live figures. The engine emits
// them; the CLI prints them and a modelgate server streams them to its
// clients.
type Event struct {
	// Seq numbers a promotion's events in the process that emits them, from
	// 1, so a client that reconnects asks only for what it missed; 0 when
	// the emitter does not number them.
	Seq         int64         `json:"seq,omitempty"`
	PromotionID string        `json:"promotion_id"`
	Model       string        `json:"model"`
	Version     string        `json:"version"`
	Step        Step          `json:"step"`
	Message     string        `json:"message"`
	Elapsed     time.Duration `json:"elapsed,omitempty"`
	Remaining   time.Duration `json:"remaining,omitempty"`
	Judgement   *Judgement    `json:"judgement,omitempty"`
	Window      *Window       `json:"window,omitempty"`
}
