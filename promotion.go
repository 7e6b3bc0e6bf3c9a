package modelgate

import (
	"context"
	"encoding/json"
	"time"
)

// Step names one section of the playbook; a promotion moves through them in
// order, or into the rollback path.
type Step string

const (
	StepPreconditions Step = "preconditions"
	StepVerify        Step = "verify"   // 1 verify the registry entry and artifact digest
	StepStaging       Step = "staging"  // 2 deploy to staging and wait until ready
	StepSmoke         Step = "smoke"    // 3 smoke tests and evaluation on ground truth
	StepCanary        Step = "canary"   // 4 canary at N% and verify the split
	StepWindow        Step = "window"   // 5 the canary window with live comparison
	StepDecision      Step = "decision" // 6 decision
	StepRollout       Step = "rollout"  // 7 full rollout and registry promotion
	StepBake          Step = "bake"     // 8 watch production against the alert rules and the previous baseline
	StepBaseline      Step = "baseline" // 8 capture the production baseline
	StepRollback      Step = "rollback" // rollback path
	StepIncident      Step = "incident" // rollback path: the incident ticket and the post-mortem bundle
	StepDone          Step = "done"
)

// Outcome is how a promotion ended; "" while it runs.
type Outcome string

const (
	OutcomeNone       Outcome = ""
	OutcomePromoted   Outcome = "promoted"
	OutcomeRolledBack Outcome = "rolled_back" // the canary was judged worse
	OutcomeFailed     Outcome = "failed"      // stopped by an error or a failed gate; production untouched or restored
	OutcomeHeld       Outcome = "held"        // waiting for a person
	OutcomeReverted   Outcome = "reverted"    // promoted earlier, then reverted by a person
)

// Promotion is one attempt to take a version to production.
type Promotion struct {
	ID        string    `json:"id"`
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	Previous  string    `json:"previous"` // the Production version to roll back to
	Step      Step      `json:"step"`     // the step to run next
	Outcome   Outcome   `json:"outcome"`
	Reasons   []string  `json:"reasons,omitempty"`
	Error     string    `json:"error,omitempty"`
	Actor     string    `json:"actor"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// CanaryStart is when the canary first took traffic; the window is
	// measured from it, so a resumed run does not restart the clock.
	CanaryStart time.Time `json:"canary_start,omitzero"`
	Extended    bool      `json:"extended,omitempty"` // the window was extended once for lack of data
	// ConfigHash identifies the effective configuration the promotion last
	// ran under; a resume under another one is recorded.
	ConfigHash string `json:"config_hash,omitempty"`
	// AuditAnchor is the audit trail's entry of the promotion's end as
	// "seq:hash", also tagged on the version in the registry and printed in
	// the report: `modelgate audit verify --anchor` checks a trail still
	// holds it.
	AuditAnchor string `json:"audit_anchor,omitempty"`
}

// AbortRequest is a person's request to end a promotion, left in the store
// for the process running it (which acts on it within a second) or taken
// up by the requester when no live process runs it.
type AbortRequest struct {
	PromotionID string    `json:"promotion_id"`
	By          string    `json:"by"`
	Source      string    `json:"source,omitempty"` // where By came from, e.g. "env:USER"
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// Active reports whether the promotion has not ended.
func (p *Promotion) Active() bool { return p.Outcome == OutcomeNone || p.Outcome == OutcomeHeld }

// StepRecord is the persisted record of one step.
type StepRecord struct {
	PromotionID string     `json:"promotion_id"`
	Step        Step       `json:"step"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     time.Time  `json:"ended_at,omitzero"`
	Inputs      StepInputs `json:"inputs,omitzero"`
	Outcome     StepResult `json:"outcome"`
	// Evidence is the step's evidence type (PreconditionsEvidence,
	// WindowEvidence, …) encoded as JSON; write it with SetEvidence and read
	// it with DecodeEvidence or FindEvidence.
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// StepInputs is what a step ran with.
type StepInputs struct {
	// Settings are the policy values the step depends on (window, interval,
	// canary percent, timeouts), as text.
	Settings map[string]string `json:"settings,omitempty"`
	// ConfigHash identifies the effective configuration of the run that
	// last ran the step; a resume under another configuration shows here.
	ConfigHash string `json:"config_hash,omitempty"`
}

// Action states, persisted around every external action.
const (
	ActionIntent = "intent" // about to be done; on resume, check whether it took effect
	ActionDone   = "done"   // done; never repeated
)

// Approval is one person's sign-off on a version in one role. Whether it
// counts (configured role, one role per person, not the version's author,
// not expired, not revoked) is the promotion package's policy.
type Approval struct {
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Role    string    `json:"role"`
	By      string    `json:"by"` // the approver, as named
	At      time.Time `json:"at"`
	// RecordedBy is who recorded the approval (the person running
	// modelgate, who may differ from By) and Source where that name came
	// from, e.g. "env:USER".
	RecordedBy string `json:"recorded_by,omitempty"`
	Source     string `json:"source,omitempty"`
	// Revoked is set once the approval is withdrawn; it no longer counts.
	Revoked *Revocation `json:"revoked,omitempty"`
}

// Revocation is a person's withdrawal of an approval: who (and where the
// name came from), why and when — the facts an Override records.
type Revocation = Override

// PromotionStore persists promotions so a crash at any point can resume.
// Implementations: sqlite, postgres.
type PromotionStore interface {
	// CreatePromotion stores a new promotion. ECONFLICT if the model has an
	// active one.
	CreatePromotion(ctx context.Context, p *Promotion) error
	// UpdatePromotion overwrites a stored promotion.
	UpdatePromotion(ctx context.Context, p *Promotion) error
	// GetPromotion returns one promotion. ENOTFOUND if missing.
	GetPromotion(ctx context.Context, id string) (*Promotion, error)
	// ActivePromotion returns the model's unfinished promotion. ENOTFOUND if none.
	ActivePromotion(ctx context.Context, model string) (*Promotion, error)
	// ListPromotions returns a model's promotions, newest first; all models if model is "".
	ListPromotions(ctx context.Context, model string) ([]*Promotion, error)

	// SaveStep inserts or replaces the record of (PromotionID, Step).
	SaveStep(ctx context.Context, r *StepRecord) error
	// Steps returns a promotion's step records in the order they started.
	Steps(ctx context.Context, promotionID string) ([]*StepRecord, error)

	// SetAction records the state of a named external action.
	SetAction(ctx context.Context, promotionID, action, state string) error
	// ActionState returns the recorded state of an action, "" if none.
	ActionState(ctx context.Context, promotionID, action string) (string, error)

	// AcquireLock takes the model's promotion lock for owner until ttl has
	// passed. ECONFLICT if another owner holds an unexpired lock; an expired
	// lock is taken over, so a crashed holder cannot block forever.
	AcquireLock(ctx context.Context, model, owner string, ttl time.Duration) error
	// ReleaseLock frees the lock if owner holds it.
	ReleaseLock(ctx context.Context, model, owner string) error
	// LockHolder returns who holds the model's unexpired lock and until
	// when; "" when it is free.
	LockHolder(ctx context.Context, model string) (owner string, expires time.Time, err error)
	// BreakLock frees the lock if holder still holds it (compare and
	// delete), for a holder known to be gone.
	BreakLock(ctx context.Context, model, holder string) error

	// RequestAbort records a request to end a promotion; the first request
	// stands. ENOTFOUND if the promotion is missing.
	RequestAbort(ctx context.Context, r *AbortRequest) error
	// AbortRequested returns the promotion's abort request, nil if none.
	AbortRequested(ctx context.Context, promotionID string) (*AbortRequest, error)

	// AddApproval records an approval, replacing the same role's earlier
	// one (revoked or not). EINVALID without a model, version, role or
	// approver.
	AddApproval(ctx context.Context, a *Approval) error
	// RevokeApproval withdraws the role's approval of a version, keeping it
	// with the revocation. ENOTFOUND when the role has no approval of the
	// version, ECONFLICT when it is revoked already.
	RevokeApproval(ctx context.Context, model, version, role string, r *Revocation) error
	// Approvals lists a version's approvals, revoked ones included, with
	// when each was given (and revoked), sorted by role.
	Approvals(ctx context.Context, model, version string) ([]*Approval, error)
}
