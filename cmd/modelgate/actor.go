package main

import (
	"os"
	"os/user"
)

// actorAndSource names who runs modelgate, as actor does, and says where the
// name came from, for modelgate.AuditEntry.ActorSource. "env:MODELGATE_ACTOR"
// and "env:USER" are whatever the environment claims; "os:user" is the
// account the process runs as, asked of the system when neither variable is
// set. A server that names its callers by token would say "token:<name>".
func actorAndSource() (name, source string) {
	for _, v := range []string{"MODELGATE_ACTOR", "USER"} {
		if u := os.Getenv(v); u != "" {
			return u, "env:" + v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, "os:user"
	}
	return "unknown", "unknown"
}
