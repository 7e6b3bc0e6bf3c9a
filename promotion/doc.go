// Package promotion is the promotion engine: the playbook as a persisted
// state machine. Service.Start checks the preconditions and creates a
// promotion; Service.Step runs the promotion's current step (verify, staging,
// smoke, canary, window, decision, rollout, baseline, or rollback) and
// persists the result; Service.Run calls Step until the promotion ends.
//
// Every external action (deploy, traffic change, registry change) is recorded
// as an intent before it is made and as done after it, and on resume an
// intent is first checked against the world, so a crash at any point resumes
// without doing an action twice and without leaving a canary orphaned.
//
// Runner runs promotions as jobs of one process for a modelgate server (the
// root's PromotionService): it starts, accepts, resumes and aborts them for
// the actor the context names, numbers their progress events for followers,
// and at Open resumes what no live process runs. Service.RecordApproval and
// Service.ModelStatus are the approve and status use cases, shared by the
// CLI and the server.
//
// It holds the policy (gates, transitions, what counts as done) and talks to
// the world only through the root package's interfaces; it imports no adapter.
package promotion
