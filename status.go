package modelgate

import "strings"

// ModelStatus is what a person needs to know about one model: what the
// registry says, what production serves, the unfinished promotion and its
// last look at the canary, and what needs a person.
type ModelStatus struct {
	Model      string        `json:"model"`
	Production string        `json:"production"` // the registry's Production versions, "-" for none
	Staging    string        `json:"staging"`    // the registry's Staging versions, "-" for none
	Traffic    *TrafficSplit `json:"traffic,omitempty"`
	// Platform is "reachable", or why the platform's split could not be read.
	Platform string        `json:"platform"`
	Active   *Promotion    `json:"active,omitempty"`
	Steps    []*StepRecord `json:"steps,omitempty"`
	// Window is the active promotion's last look at its canary.
	Window *WindowEvidence `json:"window,omitempty"`
	// Bake is the active promotion's bake at its last look, while it bakes.
	Bake *BakeEvidence `json:"bake,omitempty"`
	// Links and Monitoring are what the active promotion's preconditions
	// resolved and found.
	Links      []Link              `json:"links,omitempty"`
	Monitoring *MonitoringEvidence `json:"monitoring,omitempty"`
	// Runner names the process running the active promotion; "" when none
	// is (held, or crashed).
	Runner string `json:"runner,omitempty"`
	// Warnings flag what needs a person: registry and serving disagree, a
	// promotion nobody runs.
	Warnings []string `json:"warnings,omitempty"`
}

// StageVersions lists the versions in stage st, comma-separated, or "-"
// when there is none.
func StageVersions(vs []*ModelVersion, st Stage) string {
	var out []string
	for _, v := range vs {
		if v.Stage == st {
			out = append(out, v.Version)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}
