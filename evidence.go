package modelgate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// StepResult is how a step ended, as its record keeps it.
type StepResult string

const (
	ResultRunning  StepResult = "running"
	ResultOK       StepResult = "ok"
	ResultFailed   StepResult = "failed"
	ResultHeld     StepResult = "held"     // the window ended without a decision; a person decides
	ResultPromote  StepResult = "promote"  // the window or the decision said promote
	ResultRollback StepResult = "rollback" // the window or the decision said roll back
	ResultReverted StepResult = "reverted" // a person reverted a promoted version
)

// Evidence is what a step records: one named type per step, so the engine
// that writes it and every reader (report, web view, status, changelog)
// share one shape. Step names the step the type belongs to.
type Evidence interface {
	Step() Step
}

// PreconditionsEvidence is what the preconditions found.
type PreconditionsEvidence struct {
	Version   *ModelVersion `json:"version"`
	Previous  string        `json:"previous"`
	Approvals []*Approval   `json:"approvals"`
	Traffic   TrafficSplit  `json:"traffic"`
	// Links are the promotion's links, resolved here once; LinkNotes say
	// why a configured link could not be resolved.
	Links     Links    `json:"links,omitzero"`
	LinkNotes []string `json:"link_notes,omitempty"`
	// Monitoring is the precondition "monitoring dashboards and alerts
	// configured for the new model"; nil in records written before it.
	Monitoring *MonitoringEvidence `json:"monitoring,omitempty"`
}

// VerifyEvidence names the verified artifacts (playbook step 1).
type VerifyEvidence struct {
	Candidate *Deployment `json:"candidate,omitempty"`
	Previous  *Deployment `json:"previous,omitempty"` // the rollback target, verified too
	Error     string      `json:"error,omitempty"`
}

// StagingEvidence is the staging deployment (playbook step 2).
type StagingEvidence struct {
	Endpoint Endpoint `json:"endpoint"`
	Error    string   `json:"error,omitempty"`
}

// GateRecord is one gate's result under its name.
type GateRecord struct {
	Name string `json:"name"`
	GateResult
}

// SmokeEvidence is every staging gate's result, in the order they ran
// (playbook step 3).
type SmokeEvidence struct {
	Gates []GateRecord `json:"gates"`
}

// Expectation gathers what the gates measured of the candidate's
// predictions against production's on the same rows; nil when none did.
func (e SmokeEvidence) Expectation() *Expectation {
	var x Expectation
	for _, g := range e.Gates {
		if g.Divergence != nil {
			x.Divergences = append(x.Divergences, *g.Divergence)
		}
	}
	if len(x.Divergences) == 0 {
		return nil
	}
	return &x
}

// CanaryEvidence is the split the canary step set and verified (step 4).
type CanaryEvidence struct {
	Traffic TrafficSplit `json:"traffic"`
	Error   string       `json:"error,omitempty"`
}

// WindowEvidence is the canary window's record (step 5), rewritten after
// every look so the last figures and counters survive a crash.
type WindowEvidence struct {
	Looks     int        `json:"looks"`
	Elapsed   string     `json:"elapsed"`
	Window    string     `json:"window"`
	Extended  bool       `json:"extended,omitempty"`
	Decision  Decision   `json:"decision,omitempty"`
	Judgement *Judgement `json:"judgement,omitempty"`
	Figures   *Window    `json:"figures,omitempty"`
	// MetricFailures counts looks in a row whose figures could not be read.
	MetricFailures int `json:"metric_failures,omitempty"`
	// Series is the figures at every look, for the charts of the report and
	// the post-mortem.
	Series []SeriesPoint `json:"series,omitempty"`
	// Baseline is production's figures recorded when the version now in
	// production was promoted (nil when modelgate has none), shown beside
	// the canary's.
	Baseline *RevisionStats `json:"baseline,omitempty"`
	// Plan is what this window can detect at the traffic of its first
	// looks; NotJudged says what it does not judge and why. Both are set
	// once, when the canary first has traffic.
	Plan      *PowerPlan `json:"plan,omitempty"`
	NotJudged []string   `json:"not_judged,omitempty"`
	// Logs are production's serving logs per revision, when the platform
	// can read them (LogSource); LogsError says why they are missing.
	Logs      []RevisionLogs `json:"logs,omitempty"`
	LogsError string         `json:"logs_error,omitempty"`
	Error     string         `json:"error,omitempty"`
	// Accepted is a person's acceptance of a held window.
	Accepted *Override `json:"accepted,omitempty"`
}

// Override is a person's decision in place of the judge's: who (and where
// the name came from), why and when.
type Override struct {
	By     string    `json:"by"`
	Source string    `json:"source,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// DecisionEvidence is playbook step 6.
type DecisionEvidence struct {
	Decision Decision `json:"decision"`
	Reasons  []string `json:"reasons,omitempty"`
	Checks   []Check  `json:"checks,omitempty"`
	// Accepted is set when a person, not the judge, decided to promote.
	Accepted *Override `json:"accepted,omitempty"`
}

// RolloutEvidence is playbook step 7.
type RolloutEvidence struct {
	Traffic      TrafficSplit `json:"traffic"`
	Production   string       `json:"production,omitempty"`
	Replaced     string       `json:"replaced"`
	RegistryMode string       `json:"registry_mode"`
	Error        string       `json:"error,omitempty"` // why the rollout did not happen
}

// BaselineEvidence keeps the canary's figures as the next release's
// baseline (playbook step 8).
type BaselineEvidence struct {
	Baseline *RevisionStats `json:"baseline,omitempty"`
	// Source says what the figures are: "bake" (production over the whole
	// bake) or "canary" (the canary window, when the bake measured nothing).
	Source string `json:"source,omitempty"`
	// Reference is the version's training reference profile, kept with the
	// baseline so the next release's drift compares with the same.
	Reference *Profile `json:"reference,omitempty"`
}

// RollbackEvidence is the rollback path's record.
type RollbackEvidence struct {
	Traffic  TrafficSplit `json:"traffic"`
	Archived string       `json:"archived"`
	Reasons  []string     `json:"reasons,omitempty"`
	// Reverted is set when a person reverted a version promoted earlier.
	Reverted bool `json:"reverted,omitempty"`
	// VersionTags and PreviousTags are both versions' registry tags, so the
	// record names what left production and what came back.
	VersionTags  map[string]string `json:"version_tags,omitempty"`
	PreviousTags map[string]string `json:"previous_tags,omitempty"`
	// Links are a revert's links (it has no preconditions), resolved at
	// its rollback.
	Links     Links          `json:"links,omitzero"`
	Logs      []RevisionLogs `json:"logs,omitempty"`
	LogsError string         `json:"logs_error,omitempty"`
}

// IncidentEvidence is the rollback procedure's record: the ticket opened
// (or why none could be), the post-mortem bundle and its due date.
type IncidentEvidence struct {
	Ticket      *Ticket   `json:"ticket,omitempty"`
	TicketError string    `json:"ticket_error,omitempty"`
	Due         time.Time `json:"post_mortem_due"`
	// BundleDir and Bundle are the post-mortem bundle as a directory and as
	// a .tar.gz archive; BundleError says why there is none.
	BundleDir   string `json:"bundle_dir,omitempty"`
	Bundle      string `json:"bundle,omitempty"`
	BundleError string `json:"bundle_error,omitempty"`
}

func (PreconditionsEvidence) Step() Step { return StepPreconditions }
func (VerifyEvidence) Step() Step        { return StepVerify }
func (StagingEvidence) Step() Step       { return StepStaging }
func (SmokeEvidence) Step() Step         { return StepSmoke }
func (CanaryEvidence) Step() Step        { return StepCanary }
func (WindowEvidence) Step() Step        { return StepWindow }
func (DecisionEvidence) Step() Step      { return StepDecision }
func (RolloutEvidence) Step() Step       { return StepRollout }
func (BaselineEvidence) Step() Step      { return StepBaseline }
func (RollbackEvidence) Step() Step      { return StepRollback }
func (BakeEvidence) Step() Step          { return StepBake }
func (IncidentEvidence) Step() Step      { return StepIncident }

// newEvidence returns a pointer to the zero evidence of step.
func newEvidence(step Step) (Evidence, bool) {
	switch step {
	case StepPreconditions:
		return &PreconditionsEvidence{}, true
	case StepVerify:
		return &VerifyEvidence{}, true
	case StepStaging:
		return &StagingEvidence{}, true
	case StepSmoke:
		return &SmokeEvidence{}, true
	case StepCanary:
		return &CanaryEvidence{}, true
	case StepWindow:
		return &WindowEvidence{}, true
	case StepDecision:
		return &DecisionEvidence{}, true
	case StepRollout:
		return &RolloutEvidence{}, true
	case StepBaseline:
		return &BaselineEvidence{}, true
	case StepRollback:
		return &RollbackEvidence{}, true
	case StepBake:
		return &BakeEvidence{}, true
	case StepIncident:
		return &IncidentEvidence{}, true
	}
	return nil, false
}

// SetEvidence encodes e as the record's evidence. e must be the evidence
// type of the record's step: a writer cannot store a shape its readers do
// not expect.
func (r *StepRecord) SetEvidence(e Evidence) error {
	if e.Step() != r.Step {
		return Errorf(EINTERNAL, "evidence of step %s written to the record of step %s", e.Step(), r.Step)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s evidence: %w", r.Step, err)
	}
	r.Evidence = b
	return nil
}

// DecodeEvidence returns the record's evidence as its step's type (a
// pointer, e.g. *WindowEvidence), or nil when none is recorded yet. Fields
// the type does not know are ignored, so records written by other
// versions still read; DecodeEvidenceStrict refuses them.
func (r *StepRecord) DecodeEvidence() (Evidence, error) { return r.decode(false) }

// DecodeEvidenceStrict is DecodeEvidence refusing unknown fields: tests use
// it to prove that what the engine writes is what the readers read.
func (r *StepRecord) DecodeEvidenceStrict() (Evidence, error) { return r.decode(true) }

func (r *StepRecord) decode(strict bool) (Evidence, error) {
	e, ok := newEvidence(r.Step)
	if !ok {
		return nil, Errorf(EINVALID, "step %q has no evidence type", r.Step)
	}
	if len(r.Evidence) == 0 || string(r.Evidence) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.Evidence))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(e); err != nil {
		return nil, Errorf(EINVALID, "%s evidence of promotion %s does not read as %T: %v", r.Step, r.PromotionID, e, err)
	}
	return e, nil
}

// FindEvidence returns the evidence of E's step among a promotion's
// records, and whether that step has recorded any.
func FindEvidence[E Evidence](steps []*StepRecord) (E, bool) {
	var zero E
	for _, r := range steps {
		if r.Step != zero.Step() || len(r.Evidence) == 0 {
			continue
		}
		var e E
		if json.Unmarshal(r.Evidence, &e) == nil {
			return e, true
		}
	}
	return zero, false
}
