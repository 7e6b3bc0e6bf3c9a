package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/postgres"
	"github.com/modelgate/modelgate/postgres/postgrestest"
)

func TestConfigStateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	unknown := write("unknown.yaml", "state: {type: mongo}\n")
	noEnvName := write("noenv.yaml", "state: {type: postgres, dsn_env: ''}\n")
	emptyEnv := write("empty.yaml", "state: {type: postgres, dsn_env: MODELGATE_TEST_NO_SUCH_DSN}\n")
	t.Setenv("MODELGATE_TEST_NO_SUCH_DSN", "")
	approve := []string{"approve", "m", "--version", "2", "--role", "r", "--by", "ada"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"UnknownType", append([]string{"--config", unknown}, approve...), `state.type: "mongo" is not supported; expected sqlite or postgres`},
		{"NoDSNEnv", append([]string{"--config", noEnvName}, approve...), "state.dsn_env: expected the name of the environment variable"},
		{"EmptyDSN", append([]string{"--config", emptyEnv}, approve...), "the environment variable MODELGATE_TEST_NO_SUCH_DSN (state.dsn_env) is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 containing %q", code, stderr, tt.want)
			}
		})
	}
}

// With state.type postgres the CLI keeps approvals (and promotions, locks)
// in PostgreSQL: what one command records, another process reads there.
func TestPostgresState(t *testing.T) {
	cluster := postgrestest.Start(t)
	dsn := cluster.NewDatabase(t)
	t.Setenv("MODELGATE_POSTGRES_DSN", dsn)
	t.Setenv("MODELGATE_AUDIT_KEY", "0123456789abcdef0123456789abcdef")
	dir := t.TempDir()
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "modelgate.yaml")
	if err := os.WriteFile(config, []byte("model: demand-forecast\nstate: {type: postgres}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"--config", config}, args...)...)
		if code != want {
			t.Fatalf("modelgate %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	cli(0, "registry", "register", "demand-forecast", filepath.Join(dir, "example", "models", "v2"), "--stage", "Staging",
		"--tag", "git_sha=abc", "--tag", "dataset_version=d1", "--tag", "approver=ops")
	cli(0, "approve", "demand-forecast", "--version", "1", "--role", "data_science_lead", "--by", "dana")
	// The store's record of dana's approval is what refuses her second role.
	if out := cli(1, "approve", "demand-forecast", "--version", "1", "--role", "compliance_officer", "--by", "dana"); !strings.Contains(out, "one person cannot fill two roles") {
		t.Errorf("a second role for one person: %q, want a refusal", out)
	}

	db := postgres.NewDB(dsn)
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	approvals, err := postgres.NewPromotionStore(db).Approvals(t.Context(), "demand-forecast", "1")
	if err != nil || len(approvals) != 1 || approvals[0].By != "dana" {
		t.Fatalf("approvals in PostgreSQL = %v, %v; want dana's", approvals, err)
	}
	for _, p := range []string{filepath.Join(dir, ".modelgate", "state.db"), filepath.Join(dir, ".modelgate", "audit.jsonl")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created next to the configuration; the state belongs in PostgreSQL", p)
		}
	}

	// The audit trail is in PostgreSQL too, keyed here; rotated, then
	// exported, it verifies as a file trail does.
	newKey := filepath.Join(dir, "new.key")
	if err := os.WriteFile(newKey, []byte("fedcba9876543210fedcba9876543210\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli(0, "audit", "rotate-key", "--new-key-file", newKey, "--reason", "test")
	trail := filepath.Join(dir, "exported.jsonl")
	cli(0, "audit", "export", trail)
	cli(0, "audit", "verify", "--key-file", newKey, trail)
	exported, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"approved"`, `"outcome":"refused"`, `"action":"audit.key_rotation"`} {
		if !strings.Contains(string(exported), want) {
			t.Errorf("the exported trail has no %s:\n%s", want, exported)
		}
	}
	cli(1, "audit", "export", trail) // never overwrites
}
