// Package jira opens incident tickets as Jira Cloud issues through the
// REST API v3 (POST /rest/api/3/issue), implementing modelgate.Ticketer: the
// project, issue type and summary Jira requires, the description in
// Atlassian Document Format, the post-mortem's due date as duedate, and
// labels. It authenticates with HTTP Basic (e-mail and API token, both from
// environment variables, never in errors). A 429 is recoverable after
// Retry-After, a 5xx or a network failure too; 4xx otherwise is not.
//
// It imports only the root package and the standard library.
package jira
