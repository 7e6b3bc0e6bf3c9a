package mlflow_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// Someone changes the registry directly in MLflow while a canary runs
// (stage mode: the candidate moved to Production without archiving the
// old one; alias mode: @champion moved to the candidate). The promotion
// stops with a clear error instead of rolling out, production goes back to
// the previous version, and MLflow's own client then reads exactly one
// version in production.
func TestEngine_RegistryChangedInMLflowDuringTheWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary through a promotion against a real MLflow")
	}
	bin := buildModelgate(t)
	for _, mode := range []string{"stage", "alias"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := mustServer(t)
			name, _ := registerExample(t, s, mode, "")
			base, platform := localGateway(t)
			config := changeConfig(t, s.URI, platform, mode)
			run(t, bin, config, 0, "deploy", name, "--version", "1")
			stop := traffic(t, "http://"+base, name)
			defer stop()
			for _, role := range []string{"data_science_lead", "compliance_officer"} {
				run(t, bin, config, 0, "approve", name, "--version", "2", "--role", role, "--by", "t-"+role)
			}
			promote := exec.Command(bin, "--config", config, "promote", name, "--version", "2")
			var out bytes.Buffer
			promote.Stdout, promote.Stderr = &out, &out
			mustDo(t, promote.Start())
			time.Sleep(4 * time.Second) // into the window
			r := mustRegistry(t, s, nil)
			if mode == "stage" {
				_, err := r.TransitionStage(t.Context(), name, "2", modelgate.StageProduction, false)
				mustDo(t, err)
			} else {
				mustDo(t, r.SetAlias(t.Context(), name, "champion", "2"))
			}
			err := promote.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), "registry changed outside modelgate") {
				t.Fatalf("promote: %v, want exit 1 naming the registry change\n%s", err, out.String())
			}
			wantOneInProduction(t, readState(t, s, name), mode)
		})
	}
}

func wantOneInProduction(t *testing.T, st mlflowState, mode string) {
	t.Helper()
	var prod []string
	for v, mv := range st.Versions {
		if mv.Stage == "Production" {
			prod = append(prod, v)
		}
	}
	switch {
	case mode == "stage" && (len(prod) != 1 || prod[0] != "1" || st.Versions["2"].Stage != "Archived"):
		t.Fatalf("versions in Production: %v (v2 %s); want 1 alone", prod, st.Versions["2"].Stage)
	case mode == "alias" && st.Aliases["champion"] != "1":
		t.Fatalf("@champion is %q; want 1 back", st.Aliases["champion"])
	}
}

// changeConfig is cliConfig's configuration with a window long enough to
// change the registry during it.
func changeConfig(t *testing.T, uri, platform, mode string) string {
	t.Helper()
	cfg := fmt.Sprintf(`registry: {type: mlflow, uri: %q, promotion: %s}
platform: {type: local, %s}
canary: {percent: 30, window: 12s, interval: 500ms, extension: 6s, min_requests: 30}
bake: {duration: 0s}
judge: {type: thresholds}
smoke: {count: 10, warmup: 1}
`, uri, mode, platform)
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	mustDo(t, os.WriteFile(path, []byte(cfg), 0o644))
	return path
}

func run(t *testing.T, bin, config string, exit int, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"--config", config}, args...)...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != exit {
		t.Fatalf("modelgate %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exit, out)
	}
}
