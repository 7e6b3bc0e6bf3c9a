package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the binary's entry point in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// The demo promotes v2 and rolls back v3 from measured traffic, and its
// audit trail verifies until one byte of it changes.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs two canary windows")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runCLI(t, "demo", "--dir", dir, "--window", "45s", "-o", "json")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s", code, stderr)
	}
	var res struct {
		Promotions []struct {
			Version, Outcome string
			Reasons          []string
		}
		Audit string
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("demo -o json printed %q: %v", stdout, err)
	}
	if len(res.Promotions) != 2 || res.Promotions[0].Outcome != "promoted" || res.Promotions[1].Outcome != "rolled_back" {
		t.Fatalf("outcomes %+v, want v2 promoted and v3 rolled back\n%s", res.Promotions, stderr)
	}
	if r := res.Promotions[1].Reasons; len(r) == 0 || !strings.HasPrefix(r[0], "The canary forecasts +") || !strings.Contains(r[0], "(prediction_mean:") {
		t.Fatalf("v3's first reason is not the measured prediction shift in plain words: %v", r)
	}
	if code, out, errs := runCLI(t, "audit", "verify", res.Audit); code != 0 {
		t.Fatalf("audit verify exit %d: %s %s", code, out, errs)
	}
	tamperAndVerify(t, res.Audit)
	changelog, err := os.ReadFile(filepath.Join(dir, "CHANGELOG.md"))
	if err != nil || !strings.Contains(string(changelog), "## [demand-forecast 2]") || !strings.Contains(string(changelog), "## [demand-forecast 3]") {
		t.Fatalf("CHANGELOG.md lacks the entries: %v\n%s", err, changelog)
	}
}

// tamperAndVerify changes one byte of entry 5 and expects verify to fail
// naming that entry.
func tamperAndVerify(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	i := bytes.Index(lines[4], []byte(`"outcome":"`)) + len(`"outcome":"`)
	lines[4][i] ^= 0x01
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "audit", "verify", path)
	if code != 1 || !strings.Contains(stderr, "entry 5 ") {
		t.Fatalf("verify of a tampered trail: exit %d, %q; want 1 naming entry 5", code, stderr)
	}
}

func TestUsageAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("canary:\n  percent: 150\n  windw: 30m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	negative := filepath.Join(dir, "neg.yaml")
	if err := os.WriteFile(negative, []byte("canary:\n  percent: 150\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badLinks := filepath.Join(dir, "links.yaml")
	if err := os.WriteFile(badLinks, []byte("records:\n  links: {pipline: 'https://ci/{git_sha}', pr: 'github/{pr'}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badAlerts := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(badAlerts, []byte("alerts: {error_rate: 1.5}\npreconditions: {monitoring: loud}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"BadAlerts", []string{"--config", badAlerts, "status"}, 2, "alerts.error_rate: expected a share of requests in (0, 1) like 0.01, got 1.5"},
		{"BadMonitoring", []string{"--config", badAlerts, "status"}, 2, `preconditions.monitoring: expected error, warn or off, got "loud"`},
		{"BadLinkName", []string{"--config", badLinks, "status"}, 2, "records.links.pipline: not a link name; expected pipeline, mlflow, dashboard, pr, ticket"},
		{"BadLinkTemplate", []string{"--config", badLinks, "status"}, 2, `records.links.pr: unbalanced braces in "github/{pr"`},
		{"PromoteWithoutVersion", []string{"promote", "m"}, 2, "promote needs --version"},
		{"UnknownCommand", []string{"promot"}, 2, "unknown command"},
		{"RevokeWithoutReason", []string{"approve", "m", "--revoke", "--version", "2", "--role", "r"}, 2, "approve --revoke needs --version, --role and --reason"},
		{"RevokeWithBy", []string{"approve", "m", "--revoke", "--version", "2", "--role", "r", "--reason", "x", "--by", "ada"}, 2, "approve --revoke takes no --by"},
		{"UnknownFlag", []string{"status", "--bogus"}, 2, "unknown flag"},
		{"BadOutput", []string{"status", "-o", "yaml"}, 2, "--output must be text or json"},
		{"UnknownKey", []string{"--config", bad, "status"}, 2, `field windw is not a known key of canary`},
		{"OutOfRange", []string{"--config", negative, "status"}, 2, "canary.percent: expected an integer from 1 to 99, got 150"},
		{"MissingConfig", []string{"--config", filepath.Join(dir, "none.yaml"), "status"}, 2, "cannot read config"},
		{"AuditMissing", []string{"audit", "verify", filepath.Join(dir, "none.jsonl")}, 1, "cannot open audit trail"},
		{"ServerWithWindow", []string{"promote", "m", "--version", "2", "--server", "127.0.0.1:1", "--window", "1m"}, 2, "not offered with --server"},
		{"ServerUnreachable", []string{"status", "--server", "127.0.0.1:1"}, 1, "cannot reach the modelgate server at http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// version reads the toolchain's build information: the module path is the
// one `go install` takes.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runCLI(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("version exit %d: %s", code, stderr)
	}
	var b buildInfo
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatal(err)
	}
	if b.Module != "github.com/modelgate/modelgate" || b.Version == "" || !strings.HasPrefix(b.Go, "go1.") {
		t.Fatalf("version printed %+v", b)
	}
}
