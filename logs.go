package modelgate

import "context"

// RevisionLogs is what the serving pods of one production revision logged,
// kept as evidence of the canary window and of a rollback: counts of error
// and warning lines and the last lines themselves.
type RevisionLogs struct {
	Version  string   `json:"version"`            // the model version the revision serves; "" if unknown
	Revision string   `json:"revision,omitempty"` // the platform's revision name (KServe: the Knative revision)
	Pods     []string `json:"pods,omitempty"`     // the pods read
	Lines    int      `json:"lines"`              // lines read (the last few thousand of each pod)
	Errors   int      `json:"errors"`             // lines that mention an error, exception, fatal or panic
	Warnings int      `json:"warnings"`           // lines that mention a warning
	Last     []string `json:"last,omitempty"`     // the last lines, pod by pod
	// ReadErrors names the pods whose logs could not be read and why; a pod
	// that cannot be read is noted, never a reason to fail.
	ReadErrors []string `json:"read_errors,omitempty"`
}

// LogSource is an optional capability of a Deployer: reading production's
// serving logs per revision. The engine finds it by type assertion and
// treats it as best-effort evidence. Implementations: kserve.
type LogSource interface {
	// RevisionLogs returns the logs of model's production revisions, one
	// entry per revision, ordered by revision name.
	RevisionLogs(ctx context.Context, model string) ([]RevisionLogs, error)
}
