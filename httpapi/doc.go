// Package httpapi is modelgate's JSON API over HTTP: Server exposes a
// modelgate.PromotionService (in a modelgate server, promotion.Runner)
// under /api/v1/ behind bearer tokens with roles, with /metrics, /healthz
// and /readyz; Client implements modelgate.PromotionService against a
// running server, so the CLI's commands work the same through it.
//
// It imports the root package and client_golang only; it knows nothing of
// the store, the registry or the platform. Who may call what is decided
// here (roles); what a call may do (preconditions, the four-eyes rule) is
// decided by the service behind it. Every mutating call, refused ones too,
// is appended to the audit trail under the token's name.
package httpapi
