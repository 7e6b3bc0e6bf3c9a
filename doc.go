// Package modelgate is the vocabulary of the promotion system: the domain
// types (model versions, deployments, observations, promotions, audit
// entries), the interfaces that have several implementations (Registry,
// Deployer, MetricsSource, PromotionStore, AuditLog, Judge, Notifier,
// PromotionService), the Notifiers fan-out and the Error type every adapter
// translates its failures into.
//
// It imports only the standard library. Policy lives in the promotion and
// judge packages; adapters (sqlite, gateway, audit, …) live in packages named
// for what they wrap; cmd/modelgate is the only place they are wired together.
// See docs/ARCHITECTURE.md.
package modelgate
