package modelgate

import "context"

// PromotionService is what people do with promotions that run as jobs:
// start one and follow its progress, accept, abort or resume it, approve a
// version, and read the promotions and a model's status. Who acts comes
// from the context (NewContextWithActor), or is the implementation's own.
// Implementations: promotion.Runner (jobs of this process, what a modelgate
// server runs) and httpapi.Client (through a modelgate server).
type PromotionService interface {
	// StartPromotion checks the preconditions and starts a promotion of
	// model/version, returning it at once while it runs on; the model's
	// unfinished promotion of the same version is resumed instead.
	// EPRECONDITION when a precondition fails; ECONFLICT when the model has
	// an unfinished promotion of another version or another process runs it.
	StartPromotion(ctx context.Context, model, version string) (*Promotion, error)
	// ResumePromotion continues the model's unfinished promotion (a held one
	// watches its canary once more). ENOTFOUND when it has none; ECONFLICT
	// when a process runs it.
	ResumePromotion(ctx context.Context, model string) (*Promotion, error)
	// AcceptPromotion promotes the model's held promotion on the actor's
	// word, after one more look. EINVALID without a reason; EPRECONDITION
	// when it is not held or the judge now finds the canary worse.
	AcceptPromotion(ctx context.Context, model, reason string) (*Promotion, error)
	// AbortPromotion ends the model's unfinished promotion: a running one is
	// told through the store and rolls back within a second, a held or
	// crashed one is rolled back by the service. EINVALID without a reason;
	// ENOTFOUND when the model has no unfinished promotion.
	AbortPromotion(ctx context.Context, model, reason string) (*Promotion, error)

	// Promotions lists a model's promotions, newest first; all models' for "".
	Promotions(ctx context.Context, model string) ([]*Promotion, error)
	// Promotion returns one promotion and its step records. ENOTFOUND.
	Promotion(ctx context.Context, id string) (*Promotion, []*StepRecord, error)
	// FollowPromotion calls fn with the promotion's progress events numbered
	// after `after` (0: all the service still has) until it ends (held counts
	// as an end), and returns it as it ended; ctx's error when ctx ends first.
	FollowPromotion(ctx context.Context, id string, after int64, fn func(Event)) (*Promotion, error)

	// Approve records the actor's approval of a version for a role.
	// ENOTFOUND when the version is missing; EUNAUTHORIZED when the
	// four-eyes rule refuses it.
	Approve(ctx context.Context, a *Approval) error
	// ModelStatus says what the registry and production say of a model,
	// its unfinished promotion and what needs a person.
	ModelStatus(ctx context.Context, model string) (*ModelStatus, error)
}
