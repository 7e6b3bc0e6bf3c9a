// Package webhook implements modelgate.Notifier by HTTP: each notification is
// POSTed as JSON to one URL, either Slack's incoming-webhook message
// ({"text": "..."}, format slack) or the whole notification (Payload, format
// json, the default) for any other receiver (Teams and chat bridges, incident
// tools, a team's own service).
//
// The URL may come from an environment variable, since Slack's carries its
// token; errors and logs show only its scheme and host. Failures become
// *modelgate.Error, and Notify says whether retrying may help: a network
// failure, 408, 429 and 5xx may pass, any other answer will not.
//
// It imports only the root package and the standard library.
package webhook
