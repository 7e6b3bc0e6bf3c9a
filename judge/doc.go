// Package judge decides whether a canary is as good as production. It is pure:
// no I/O and no clock of its own; a judge gets a modelgate.Window and a
// modelgate.Progress and returns a modelgate.Judgement with every check's
// figures, verdict and a readable reason.
//
// Thresholds is the playbook's judgement (fixed margins on measured figures).
// It is the default until the sequential-statistics judge replaces it; both
// satisfy modelgate.Judge, which is the seam the promotion engine uses.
//
// It imports only the root package and the standard library.
package judge
