package promotion_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

func TestDeploy_ServesVerifiedVersionAndAudits(t *testing.T) {
	w := newWorld(t)
	d, err := w.service("a").Deploy(context.Background(), model, "2", promotion.DeployOptions{Reason: "hotfix"})
	if err != nil {
		t.Fatal(err)
	}
	if w.dep.split != (modelgate.TrafficSplit{Stable: "2"}) || d.Digest == "" {
		t.Fatalf("split %+v, digest %q", w.dep.split, d.Digest)
	}
	b, err := os.ReadFile(w.audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"deploy","model":"demand-forecast","version":"2","outcome":"requested"`, `"outcome":"serving"`, "hotfix"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("audit trail lacks %s:\n%s", want, b)
		}
	}
}

func TestDeploy_Refusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.reg.TransitionStage(ctx, model, "3", modelgate.StageArchived, false); err != nil {
		t.Fatal(err)
	}
	svc := w.service("a")
	_, err := svc.Deploy(ctx, model, "3", promotion.DeployOptions{})
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(modelgate.ErrorMessage(err), "--force --reason") {
		t.Fatalf("archived without --force: %v", err)
	}
	if _, err := svc.Deploy(ctx, model, "3", promotion.DeployOptions{Force: true}); modelgate.ErrorCode(err) != modelgate.EPRECONDITION {
		t.Fatalf("archived with --force but no reason: %v", err)
	}
	if _, err := svc.Deploy(ctx, model, "9", promotion.DeployOptions{}); modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("unknown version: %v", err)
	}
	if _, err := svc.Start(ctx, model, "2"); err != nil {
		t.Fatal(err)
	}
	_ = w.store.ReleaseLock(ctx, model, "a")
	if _, err := w.service("b").Deploy(ctx, model, "3", promotion.DeployOptions{Force: true, Reason: "x"}); modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		t.Fatalf("deploy during a promotion: %v", err)
	}
	if w.dep.split != (modelgate.TrafficSplit{Stable: "1"}) || w.dep.calls["Rollback"] != 0 {
		t.Fatalf("a refused deploy changed production: %+v %v", w.dep.split, w.dep.calls)
	}
}
