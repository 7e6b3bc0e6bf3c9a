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
}

// CanaryRequest is the body of PUT /admin/models/{model}/canary.
type CanaryRequest struct {
	Deployment modelgate.Deployment `json:"deployment"`
	Percent    int                  `json:"percent"` // 1..99
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
	}
	return st
}
