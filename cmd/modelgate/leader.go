package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/leader"
	"github.com/modelgate/modelgate/lease"
)

// validate fills in client-go's usual timings and checks what the replicas
// need: a shared state, a Lease to compete for, timings client-go accepts.
func (le *LeaderElectionConfig) validate(stateType string) []string {
	var errs []string
	if le.LeaseDuration == 0 {
		le.LeaseDuration = Duration(15 * time.Second)
	}
	if le.RenewDeadline == 0 {
		le.RenewDeadline = Duration(10 * time.Second)
	}
	if le.RetryPeriod == 0 {
		le.RetryPeriod = Duration(2 * time.Second)
	}
	if stateType != "postgres" {
		// A standby must see what the leader saved to resume it, and
		// replicas in different pods share no SQLite file safely.
		errs = append(errs, "server.leader_election: replicas must share their state; set state.type postgres")
	}
	if le.Namespace == "" || le.Name == "" {
		errs = append(errs, "server.leader_election: expected the Lease's namespace and name, e.g. {namespace: mlops, name: modelgate-server}")
	}
	// The timings alone: the Lease's names are checked above.
	if err := le.timings(&leader.Elector{Namespace: "-", Name: "-", Identity: "-"}).Validate(); err != nil {
		errs = append(errs, "server.leader_election: "+strings.TrimPrefix(modelgate.ErrorMessage(err), "leader election: "))
	}
	return errs
}

// timings sets e's timings to the configured ones.
func (le *LeaderElectionConfig) timings(e *leader.Elector) *leader.Elector {
	e.LeaseDuration, e.RenewDeadline, e.RetryPeriod = le.LeaseDuration.D(), le.RenewDeadline.D(), le.RetryPeriod.D()
	return e
}

// newElector connects to the API server of le.kubeconfig (kubectl's
// loading rules, in the cluster the service account) and checks the Lease
// can be read.
func newElector(ctx context.Context, le *LeaderElectionConfig, logger *slog.Logger) (*leader.Elector, error) {
	cfg, err := kserve.RESTConfig(le.Kubeconfig, "")
	if err != nil {
		return nil, err
	}
	e, err := leader.New(cfg, le.Namespace, le.Name, lease.Self())
	if err != nil {
		return nil, err
	}
	e = le.timings(e)
	e.Logger = logger
	if err := e.Check(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// notLeader is a standby's answer to an act that would start a job: the
// API answers 503 with Retry-After, and the caller retries or goes to the
// leader.
func notLeader(e *leader.Elector) func() error {
	return func() error {
		if e.Leading() {
			return nil
		}
		who := e.Leader()
		if who == "" {
			who = "not elected yet"
		}
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "this replica is not the leader; leader is %s", who).
			WithHint("retry in a few seconds: through the Service a retry may reach the leader, and a new leader is elected within server.leader_election.lease_duration")
	}
}
