package modelgate

import (
	"context"
	"encoding/json"
	"time"
)

// Deployment is what a platform needs to serve one model version.
type Deployment struct {
	Model    string `json:"model"`
	Version  string `json:"version"`
	ModelDir string `json:"model_dir,omitempty"` // local copy of the artifact (digest verified)
	Source   string `json:"source,omitempty"`    // the registry's artifact location
	Digest   string `json:"digest,omitempty"`    // model_sha256 of the artifact
}

// Endpoint is where a deployed model answers predictions.
type Endpoint struct {
	URL  string `json:"url"`  // base URL; V1 is URL+"/v1/models/<name>:predict"
	Name string `json:"name"` // model name in the inference paths
}

// TrafficSplit is what production serves: Stable takes 100-CanaryPercent.
type TrafficSplit struct {
	Stable        string `json:"stable"`           // version serving the rest; "" if nothing is deployed
	Canary        string `json:"canary,omitempty"` // version at CanaryPercent; "" if none
	CanaryPercent int    `json:"canary_percent"`
}

// Deployer drives a serving platform through the playbook's deployment
// steps. Every method is idempotent: repeating a call that already took
// effect changes nothing, which is what lets a crashed promotion resume.
// Implementations: gateway (local), kserve.
type Deployer interface {
	// CheckTarget reports whether the platform can serve model at all
	// (reachable, permissions, namespaces). EUNAVAILABLE or EPRECONDITION.
	CheckTarget(ctx context.Context, model string) error
	// DeployStaging serves d in the staging environment and waits until it
	// is ready, up to timeout.
	DeployStaging(ctx context.Context, d Deployment, timeout time.Duration) (Endpoint, error)
	// Traffic returns production's current split.
	Traffic(ctx context.Context, model string) (TrafficSplit, error)
	// StartCanary serves d in production next to the stable version and sends
	// it percent of the traffic.
	StartCanary(ctx context.Context, d Deployment, percent int) error
	// Promote sends all traffic to the canary version, which becomes stable.
	Promote(ctx context.Context, model, version string) error
	// Rollback serves previous at 100% (re-deploying its spec) and removes
	// any canary.
	Rollback(ctx context.Context, previous Deployment) error
	// Production returns production's endpoint.
	Production(ctx context.Context, model string) (Endpoint, error)
}

// RequestSampler is an optional capability of a Deployer: production's
// recent request inputs (raw V1 instances, newest last), so staging can
// score the same inputs through the candidate and production before the
// canary. The engine finds it by type assertion. Implementations: gateway.
type RequestSampler interface {
	// RecentRequests returns up to n of model's most recent production
	// instances; none (not an error) when production has seen no traffic.
	RecentRequests(ctx context.Context, model string, n int) ([]json.RawMessage, error)
}
