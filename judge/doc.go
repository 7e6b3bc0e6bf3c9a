// Package judge decides whether a canary is as good as production. It is pure:
// no I/O and no clock of its own; a judge gets a modelgate.Window and a
// modelgate.Progress and returns a modelgate.Judgement with every check's
// figures, verdict and a readable reason.
//
// Sequential is the statistical judge: anytime-valid tests recomputed from
// the window's cumulative figures at every look (no state between looks),
// so the window can be watched continuously at an overall false-rollback
// level α (Bonferroni: α/5 per check family). Checks: error rate (a
// Lindon–Malek count test and a confidence sequence), latency p50/p95/p99
// (time-uniform quantile confidence sequences on DDSketches), prediction
// distribution canary vs production (time-uniform KS band; PSI, JS, KS
// p-value, chi-square reported), feature drift against the version's
// training reference profile (PSI, KS, normalised Wasserstein; chi-square
// and L∞ for categories) and the business KPI on joined actuals (MAE,
// WAPE). JoinActuals joins actuals to logged predictions by request id;
// DriftFigures compares any two distributions.
//
// Thresholds is the playbook's judgement (fixed margins on measured
// figures); both satisfy modelgate.Judge, the seam the promotion engine uses.
//
// It imports the root package, the standard library, sketches-go (to decode
// the window's DDSketches) and gonum (special functions).
package judge
