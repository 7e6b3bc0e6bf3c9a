package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliWorld is a config, a running gateway and the example's files.
type cliWorld struct {
	dir, config, listen string
}

func newCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	dir := t.TempDir()
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		t.Fatal(err)
	}
	srv, listen, admin, stop, err := startDemoGateway(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); _ = srv.Close() })
	w := &cliWorld{dir: dir, config: filepath.Join(dir, "modelgate.yaml"), listen: listen}
	cfg := fmt.Sprintf(`model: demand-forecast
platform: {type: local, listen: %s, admin_listen: %s}
canary: {percent: 50, window: 5s, interval: 1s, extension: 10s, min_requests: 20}
smoke: {count: 10, warmup: 1}
bake: {duration: 0s} # the watch after the rollout has its own tests (bake_test.go)
`, w.listen, admin)
	if err := os.WriteFile(w.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *cliWorld) run(t *testing.T, wantCode int, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"--config", w.config}, args...)...)
	if code != wantCode {
		t.Fatalf("modelgate %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
	}
	return stdout
}

func (w *cliWorld) register(t *testing.T, version, stage string, tags ...string) {
	t.Helper()
	args := []string{"registry", "register", "demand-forecast", filepath.Join(w.dir, "example", "models", "v"+version), "--stage", stage}
	for _, tg := range tags {
		args = append(args, "--tag", tg)
	}
	w.run(t, 0, args...)
}

// The commands a user types, in the order the README gives them: register,
// approverOf names a different person for each required role: one person
// cannot fill two.
var approverOf = map[string]string{"data_science_lead": "ada", "compliance_officer": "tom"}

// approve, deploy the first version, promote the next, check, roll back.
func TestPromoteCommand(t *testing.T) {
	w := newCLIWorld(t)
	full := []string{"git_sha=abc", "dataset_version=d1", "approver=ada"}
	w.register(t, "1", "Production", full...)
	w.register(t, "2", "Staging", full...)
	w.run(t, 0, "deploy", "demand-forecast", "--version", "1")

	// Not yet approved: refused, exit 1, nothing changes.
	out := runErr(t, w, 1, "promote", "demand-forecast", "--version", "2")
	if !strings.Contains(out, "approval by the data_science_lead is missing") {
		t.Fatalf("unapproved promotion: %s", out)
	}
	for _, role := range []string{"data_science_lead", "compliance_officer"} {
		w.run(t, 0, "approve", "demand-forecast", "--version", "2", "--role", role, "--by", approverOf[role])
	}
	traffic, err := startTraffic(context.Background(), w.listen, "demand-forecast", filepath.Join(w.dir, "example", "data", "live_requests.csv"), 150)
	if err != nil {
		t.Fatal(err)
	}
	defer traffic.stop()
	var res struct {
		Promotion struct{ Outcome string }
	}
	if err := json.Unmarshal([]byte(w.run(t, 0, "promote", "demand-forecast", "--version", "2", "-o", "json")), &res); err != nil || res.Promotion.Outcome != "promoted" {
		t.Fatalf("promote: %+v %v", res, err)
	}
	var st struct {
		Model struct {
			Production string
			Traffic    struct{ Stable string }
		}
	}
	if err := json.Unmarshal([]byte(w.run(t, 0, "status", "demand-forecast", "-o", "json")), &st); err != nil || st.Model.Production != "2" || st.Model.Traffic.Stable != "2" {
		t.Fatalf("status after promote: %+v %v", st, err)
	}
	// A bare rollback after a finished promotion does not silently revert it.
	if out := runErr(t, w, 1, "rollback", "demand-forecast", "--reason", "test"); !strings.Contains(out, "--version 2 --reason") {
		t.Fatalf("rollback without --version: %s", out)
	}
	w.run(t, 0, "rollback", "demand-forecast", "--version", "2", "--reason", "test")
	if err := json.Unmarshal([]byte(w.run(t, 0, "status", "demand-forecast", "-o", "json")), &st); err != nil || st.Model.Production != "1" || st.Model.Traffic.Stable != "1" {
		t.Fatalf("status after rollback: %+v %v", st, err)
	}
}

func runErr(t *testing.T, w *cliWorld, wantCode int, args ...string) string {
	t.Helper()
	code, _, stderr := runCLI(t, append([]string{"--config", w.config}, args...)...)
	if code != wantCode {
		t.Fatalf("modelgate %s: exit %d, want %d: %s", strings.Join(args, " "), code, wantCode, stderr)
	}
	return stderr
}

// approve's rules from the command line: a misspelled role is refused
// naming the configured ones, a revoked approval stops a promotion, and
// both are in the audit trail with who ran the command.
func TestApproveCommand(t *testing.T) {
	w := newCLIWorld(t)
	full := []string{"git_sha=abc", "dataset_version=d1", "approver=ada", "author=eve"}
	w.register(t, "1", "Production", full...)
	w.register(t, "2", "Staging", full...)
	w.run(t, 0, "deploy", "demand-forecast", "--version", "1")
	t.Setenv("MODELGATE_ACTOR", "operator")
	for _, tc := range []struct{ args, want string }{
		{"--role complaince_officer --by tom", `role "complaince_officer" is not an approval role; preconditions.required_approvals names data_science_lead, compliance_officer`},
		{"--role compliance_officer --by eve", "eve is the author of demand-forecast version 2 (tag author) and may not approve it"},
		{"--role compliance_officer --by tbd", `the approver's name "tbd" is a placeholder`},
	} {
		if out := runErr(t, w, 1, append([]string{"approve", "demand-forecast", "--version", "2"}, strings.Fields(tc.args)...)...); !strings.Contains(out, tc.want) {
			t.Errorf("approve %s: %s, want %q", tc.args, out, tc.want)
		}
	}
	for _, role := range []string{"data_science_lead", "compliance_officer"} {
		w.run(t, 0, "approve", "demand-forecast", "--version", "2", "--role", role, "--by", approverOf[role])
	}
	if out := runErr(t, w, 1, "approve", "demand-forecast", "--version", "2", "--role", "compliance_officer", "--by", "ada"); !strings.Contains(out, "one person cannot fill two roles") {
		t.Errorf("second role: %s", out)
	}
	w.run(t, 0, "approve", "demand-forecast", "--revoke", "--version", "2", "--role", "compliance_officer", "--reason", "licence unclear")
	if out := runErr(t, w, 1, "promote", "demand-forecast", "--version", "2"); !strings.Contains(out, "was revoked by operator") {
		t.Errorf("promote after the revocation: %s", out)
	}
	trail, err := os.ReadFile(filepath.Join(w.dir, ".modelgate", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"actor":"operator","actor_source":"env:MODELGATE_ACTOR","action":"approval","model":"demand-forecast","version":"2","outcome":"refused"`,
		`"action":"approval.revoke","model":"demand-forecast","version":"2","outcome":"revoked","detail":"role compliance_officer: the compliance_officer's approval by tom revoked: licence unclear"`} {
		if !strings.Contains(string(trail), want) {
			t.Errorf("audit trail lacks %s", want)
		}
	}
}
