// Package github opens incident tickets as GitHub issues through the REST
// API (POST /repos/{owner}/{repo}/issues), implementing modelgate.Ticketer:
// a title and a Markdown body with the rollback's summary, reasons, links,
// the post-mortem's due date and where the evidence is; labels as
// configured. The token comes from an environment variable and is sent as
// a bearer token; it never appears in errors. Rate limits are honoured: a
// 429, or a 403 with x-ratelimit-remaining 0 or a secondary-limit message,
// is recoverable after Retry-After or x-ratelimit-reset.
//
// It imports only the root package and the standard library.
package github
