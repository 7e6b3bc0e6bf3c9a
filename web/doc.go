// Package web is the read-only web view of promotions: a list of every
// promotion and, for each, its steps, the canary-vs-production checks of the
// last look at the window and the reasons of the decision. Pages refresh
// themselves while a promotion runs, so a person can watch a canary instead of
// reading logs.
//
// It imports only the root package and the standard library; it reads a
// modelgate.PromotionStore and never writes.
package web
