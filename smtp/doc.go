// Package smtp implements modelgate.Notifier by e-mail: each notification
// becomes one plain-text message (subject "[modelgate] demand-forecast v3
// rolled back", a body with the summary, the promotion's reasons, the details
// and the report path) sent with net/smtp to one SMTP server for a list of
// recipients.
//
// New(Options) checks the options and reads the PLAIN auth credentials from
// the environment variables the options name (never from a file); STARTTLS is
// optional and, when asked for, required of the server, with an extra CA
// bundle if needed. Failures become *modelgate.Error, and Notify says whether
// retrying may help: a refused connection, a timeout or a 4xx reply may pass,
// a 5xx reply, refused credentials or a certificate problem will not.
//
// It imports only the root package and the standard library. Its tests run
// against a real SMTP server, aiosmtpd (see scripts/smtp-env).
package smtp
