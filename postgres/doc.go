// Package postgres keeps modelgate's shared state in PostgreSQL: the
// PromotionStore (promotions, step records, external actions, per-model
// locks, abort requests and approvals), for several modelgate processes on
// several hosts that must see one state. It mirrors the sqlite package's
// PromotionStore exactly (the modelgatetest suite runs against both); what
// differs is how it keeps two processes apart: row locks and conditional
// upserts inside transactions instead of SQLite's BEGIN IMMEDIATE. It also
// keeps the audit trail (AuditLog, with Head and RotateKey) with the audit
// package's hash chain and HMAC sealing, reimplemented here because adapters
// do not import each other; AuditLog.Export writes it as that package's JSON
// Lines and head sidecar, which `modelgate audit verify` checks, and the
// tests verify exports with the audit package itself.
//
// It imports only the root package modelgate (plus the pgx driver), never
// other adapters or policy packages. Entry points: NewDB + Open, then
// NewPromotionStore and NewAuditLog. Times are stored as timestamptz, so
// they keep microseconds, not nanoseconds.
package postgres
