// Package report writes the human-facing records of a finished promotion:
// a CHANGELOG.md entry in Keep a Changelog style and a report per promotion
// (Markdown and a self-contained HTML page for people, JSON for tools) with the canary-vs-production figures
// and the reasons of the decision. Both are idempotent per promotion ID, since
// a resumed promotion may write them again.
//
// It imports only the root package and the standard library. Entry point:
// Files, which implements promotion.Records.
package report
