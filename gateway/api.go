package gateway

import (
	"time"

	"github.com/modelgate/modelgate"
)

// Admin API paths, relative to the gateway's base URL; {model} is the model
// name, path-escaped.
//
//	GET  /admin/models                    → []Status
//	GET  /admin/models/{model}            → Status
//	PUT  /admin/models/{model}/staging    modelgate.Deployment → Status
//	PUT  /admin/models/{model}/canary     CanaryRequest → Status
//	POST /admin/models/{model}/promote    PromoteRequest → Status
//	POST /admin/models/{model}/rollback   modelgate.Deployment → Status
//	PUT  /admin/models/{model}/stable     modelgate.Deployment → Status
//	GET  /admin/models/{model}/observe    → modelgate.Window
//	GET  /admin/models/{model}/recent?n=N → RecentAnswer (production's latest instances)
//	POST /actuals                         actuals by request id (with Options.Actuals)
//
// Failures answer AdminError with the status of its code.
const adminPrefix = "/admin/models"

// Status is what the gateway serves for one model.
type Status struct {
	Model   string                 `json:"model"`
	Traffic modelgate.TrafficSplit `json:"traffic"`
	// Staging is the version served under /staging; "" if none.
	Staging string `json:"staging,omitempty"`
	// Since is when the current production split was set: the start of
	// the measurement window. Zero without production.
	Since time.Time `json:"since,omitzero"`
	// Mirror is how mirroring to the canary fares; nil when it is off.
	Mirror *MirrorStatus `json:"mirror,omitempty"`
	// Restored is set when the gateway restarted during this split and
	// restored its figures; nil otherwise.
	Restored *Restored `json:"restored,omitempty"`
}

// Restored says a split's figures were restored after a restart. They are
// the figures saved at SavedAt: the gateway saves them every few seconds,
// before every /observe answer and at Close, so they include everything
// any reader was shown. Requests answered after SavedAt and before an
// abrupt stop, which nobody had observed yet, are not counted.
type Restored struct {
	At      time.Time `json:"at"`       // when the gateway restored them
	SavedAt time.Time `json:"saved_at"` // when they had been saved
}

// MirrorStatus counts the mirrored requests of the current split. A mirror
// is dropped, not queued, when Options.MaxMirrors are in flight, so the
// pairs are a sample of the mirrored share, never a delay to production.
type MirrorStatus struct {
	Percent  int   `json:"percent"`   // share of stable requests mirrored
	Pairs    int64 `json:"pairs"`     // rows with both answers (Paired.Count)
	InFlight int64 `json:"in_flight"` // mirrors running now
	Dropped  int64 `json:"dropped"`   // mirrors not run: too many in flight
	Failed   int64 `json:"failed"`    // mirrors whose canary call failed
}

// CanaryRequest is the body of PUT /admin/models/{model}/canary.
type CanaryRequest struct {
	Deployment modelgate.Deployment `json:"deployment"`
	Percent    int                  `json:"percent"` // 1..99
	// MirrorPercent is the share (0..100) of the requests the stable
	// revision answers that are also sent to the canary, whose answer is
	// only recorded as a pair with production's (RevisionStats.Paired);
	// 0 turns mirroring off.
	MirrorPercent int `json:"mirror_percent,omitempty"`
}

// PromoteRequest is the body of POST /admin/models/{model}/promote.
type PromoteRequest struct {
	Version string `json:"version"`
}

func statusOf(name string, m modelState) Status {
	st := Status{Model: name, Traffic: m.prod.traffic()}
	if m.staging != nil {
		st.Staging = m.staging.dep.Version
	}
	if m.prod != nil {
		st.Since = m.prod.start
		st.Mirror = m.prod.mirrorStatus()
		st.Restored = m.prod.restored
	}
	return st
}
