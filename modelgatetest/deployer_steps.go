package modelgatetest

import (
	"context"

	"github.com/modelgate/modelgate"
)

func testCheckTarget(r *deployerRun) {
	if err := r.s.Deployer.CheckTarget(r.t.Context(), r.model); err != nil {
		r.t.Errorf("CheckTarget on a ready platform: %v", err)
	}
}

// A model never deployed has an empty split, not an error: the engine asks
// before a first deployment.
func testNothingDeployed(r *deployerRun) {
	r.wantTraffic("nothing was deployed", modelgate.TrafficSplit{})
}

// Rollback on an empty production serves the version at 100%: the engine's
// first (and emergency) deployment.
func testFirstDeployment(r *deployerRun) {
	r.twice("Rollback to version 1 on an empty production", modelgate.TrafficSplit{Stable: "1"}, func(ctx context.Context) error {
		return r.s.Deployer.Rollback(ctx, r.dep("1"))
	})
	r.wantProduction("1")
}

// Staging serves the candidate, answers at the endpoint it returns (the
// same one each time) and leaves production alone.
func testDeployStaging(r *deployerRun) {
	r.seed("1")
	var eps []modelgate.Endpoint
	r.twice("DeployStaging of version 2", modelgate.TrafficSplit{Stable: "1"}, func(ctx context.Context) error {
		ep, err := r.s.Deployer.DeployStaging(ctx, r.dep("2"), r.stagingTimeout())
		eps = append(eps, ep)
		return err
	})
	if eps[0] != eps[1] {
		r.t.Errorf("DeployStaging returned %+v, then %+v when repeated", eps[0], eps[1])
	}
	r.wantServes("staging", eps[1], "2")
	r.wantProduction("1")
}

func testStartCanary(r *deployerRun) {
	r.seed("1")
	r.twice("StartCanary of version 2 at 10%", modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10}, func(ctx context.Context) error {
		return r.s.Deployer.StartCanary(ctx, r.dep("2"), 10)
	})
}

// A new percent for the same canary moves the split, and only the split.
func testCanaryPercentChange(r *deployerRun) {
	r.seed("1")
	r.startCanary("2", 10)
	r.twice("StartCanary of version 2 at 25%", modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 25}, func(ctx context.Context) error {
		return r.s.Deployer.StartCanary(ctx, r.dep("2"), 25)
	})
}

func testPromote(r *deployerRun) {
	r.seed("1")
	r.startCanary("2", 10)
	r.twice("Promote of version 2", modelgate.TrafficSplit{Stable: "2"}, func(ctx context.Context) error {
		return r.s.Deployer.Promote(ctx, r.model, "2")
	})
	r.wantProduction("2")
}

func testRollbackCanary(r *deployerRun) {
	r.seed("1")
	r.startCanary("2", 20)
	r.rollbackTo1("during a canary")
}

// Rollback re-deploys the previous version's spec, even after the
// candidate was promoted.
func testRollbackPromoted(r *deployerRun) {
	r.seed("1")
	r.startCanary("2", 10)
	r.must("Promote", r.s.Deployer.Promote(r.t.Context(), r.model, "2"))
	r.rollbackTo1("after promoting 2")
}

// rollbackTo1 rolls back to version 1 twice: it serves alone, at 100%.
func (r *deployerRun) rollbackTo1(when string) {
	r.t.Helper()
	r.twice("Rollback to version 1 "+when, modelgate.TrafficSplit{Stable: "1"}, func(ctx context.Context) error {
		return r.s.Deployer.Rollback(ctx, r.dep("1"))
	})
	r.wantProduction("1")
}

// Promoting a version that is not the canary fails and changes nothing.
func testPromoteOtherVersion(r *deployerRun) {
	r.seed("1")
	r.startCanary("2", 10)
	for _, v := range []string{"3", "1"} {
		err := r.s.Deployer.Promote(r.t.Context(), r.model, v)
		if err == nil {
			r.t.Errorf("Promote of version %s while the canary is 2 succeeded", v)
		}
		r.t.Logf("Promote of version %s: %s: %v", v, modelgate.ErrorCode(err), err)
		r.wantTraffic("a refused Promote", modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	}
}

// A canary takes some of the traffic: 0% and 100% are refused and change
// nothing.
func testCanaryPercentOutOfRange(r *deployerRun) {
	r.seed("1")
	for _, pct := range []int{0, 100} {
		err := r.s.Deployer.StartCanary(r.t.Context(), r.dep("2"), pct)
		if err == nil {
			r.t.Errorf("StartCanary at %d%% succeeded", pct)
		}
		r.t.Logf("StartCanary at %d%%: %s: %v", pct, modelgate.ErrorCode(err), err)
		r.wantTraffic("a refused StartCanary", modelgate.TrafficSplit{Stable: "1"})
	}
}
