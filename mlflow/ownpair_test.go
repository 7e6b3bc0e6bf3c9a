package mlflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/inference"
)

// ownPairRate is the live traffic the test sends, in requests per second.
const ownPairRate = 60

// ownPairWarmup is how long the live traffic runs before a promotion
// starts, so production's recent requests (staging's recent_requests gate
// scores the last 500) are there.
const ownPairWarmup = 10 * time.Second

// TestOwnPair_DiabetesDefaultJudge proves the default judge on a model pair
// it was not tuned on: examples/diabetes/train.py trains, with real
// LightGBM on scikit-learn's diabetes data set, a retrain (v2) and a model
// forecasting about 3x too high (v3), and registers them with MLflow's own
// client. The real binary, configured with every default except a 3-minute
// canary window and a 1-minute extension, must promote v2 (exit 0) and roll
// back v3 (exit 3) while the test sends the live rows at about 60
// requests/s; MLflow's client then reads @champion on 2 and v3 rolled back.
// It takes about 5 minutes; -short skips it.
func TestOwnPair_DiabetesDefaultJudge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the two canary windows take about 5 minutes")
	}
	t.Parallel() // mostly waiting for its windows; the judged figures do not depend on CPU
	start := time.Now()
	bin := buildModelgate(t)
	s := mustServer(t)
	name := fmt.Sprintf("diabetes-%08x", rand.Uint32())
	data := t.TempDir()
	t.Log(python(t, s, nil, "../examples/diabetes/train.py", name, "--out", data, "--approver", "ownpair-test"))
	rows, err := loadgen.ReadInstances(filepath.Join(data, "live_requests.csv"))
	if err != nil {
		t.Fatal(err)
	}

	base, platform := localGateway(t)
	cli := ownPairCLI(t, bin, fmt.Sprintf(`registry: {type: mlflow, uri: %q}
platform: {type: local, %s}
canary: {window: 3m, extension: 1m}
bake: {duration: 0s}
`, s.URI, platform))
	if r := cli("deploy", name, "--version", "1"); r.code != 0 {
		t.Fatalf("deploy v1: exit %d\n%s", r.code, r.stderr)
	}
	p := ownPairPromotion{cli: cli, model: name, bodies: loadgen.V1Bodies(rows),
		url: inference.PredictURL(modelgate.Endpoint{URL: "http://" + base, Name: name})}
	p.run(t, "2", 0)
	mustDo(t, mustRegistry(t, s, nil).SetAlias(t.Context(), name, "challenger", "3"))
	p.run(t, "3", 3)

	st := readState(t, s, name)
	if st.Aliases["champion"] != "2" {
		t.Errorf("@champion as MLflow's client reads it: %q, want 2 (aliases %v)", st.Aliases["champion"], st.Aliases)
	}
	wantTag(t, st, "2", "modelgate.outcome", "promoted")
	wantTag(t, st, "3", "modelgate.outcome", "rolled_back")
	t.Logf("wall time %s", time.Since(start).Round(time.Second))
}

// ownPairPromotion promotes versions of one model with live traffic.
type ownPairPromotion struct {
	cli    func(...string) cliResult
	model  string
	url    string   // production's V1 predict URL
	bodies [][]byte // live request bodies, sent in turn
}

// run approves and promotes version while the live rows are sent at
// ownPairRate, logs the decision's reasons and figures, and fails with them
// when the exit code is not want. A held promotion is aborted so the next
// one can run.
func (p ownPairPromotion) run(t *testing.T, version string, want int) {
	t.Helper()
	for _, role := range []string{"data_science_lead", "compliance_officer"} {
		if r := p.cli("approve", p.model, "--version", version, "--role", role, "--by", "ownpair-test-"+role); r.code != 0 {
			t.Fatalf("approve v%s as %s: exit %d\n%s", version, role, r.code, r.stderr)
		}
	}
	live := startLiveTraffic(p.url, p.bodies, ownPairRate)
	time.Sleep(ownPairWarmup)
	began := time.Now()
	r := p.cli("-o", "json", "promote", p.model, "--version", version)
	wall := time.Since(began)
	sent := live.stop()
	var out struct {
		Promotion modelgate.Promotion `json:"promotion"`
		Report    string              `json:"report"`
	}
	_ = json.Unmarshal([]byte(r.stdout), &out)
	report := readReport(out.Report)
	t.Logf("promote v%s: exit %d, outcome %q in %s\ntraffic: %.1f requests/s answered (%d sent, %d failed, %d dropped, client p99 %s); canary %s\nprogress:\n%s\nreasons:\n  - %s\n%s",
		version, r.code, out.Promotion.Outcome, wall.Round(time.Second), sent.Rate, sent.Sent, sent.Errors, sent.Dropped, sent.P99,
		canaryRate(report), progressLines(r.stderr), strings.Join(out.Promotion.Reasons, "\n  - "), reportJudgement(report))
	if r.code != want {
		t.Errorf("promote v%s: exit %d (%s), want %d; reasons:\n  - %s\nlast progress:\n%s",
			version, r.code, out.Promotion.Outcome, want, strings.Join(out.Promotion.Reasons, "\n  - "), tail(progressLines(r.stderr), 15))
	}
	if out.Promotion.Outcome == modelgate.OutcomeHeld {
		p.cli("abort", p.model, "--reason", "held in TestOwnPair_DiabetesDefaultJudge; the next promotion needs the model free")
	}
}

// progressLines shortens the JSON progress events on stderr to one line
// each: the step's message, or the window's look and its decision.
func progressLines(stderr string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var e struct {
			Step      string               `json:"step"`
			Message   string               `json:"message"`
			Elapsed   time.Duration        `json:"elapsed"`
			Judgement *modelgate.Judgement `json:"judgement"`
		}
		switch {
		case json.Unmarshal([]byte(line), &e) != nil:
			fmt.Fprintf(&b, "  %s\n", line)
		case e.Judgement != nil:
			fmt.Fprintf(&b, "  [%s] %s elapsed: %s\n", e.Step, e.Elapsed.Round(time.Second), e.Judgement.Decision)
		case e.Message != "":
			fmt.Fprintf(&b, "  [%s] %s\n", e.Step, e.Message)
		}
	}
	return b.String()
}

// cliResult is one run of the binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

// ownPairCLI writes cfg as modelgate.yaml in a fresh directory and returns a
// function running the binary with it.
func ownPairCLI(t *testing.T, bin, cfg string) func(args ...string) cliResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--config", path}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("modelgate %s: %v", strings.Join(args, " "), err)
		}
		return r
	}
}

// readReport returns the promotion report, or a note saying why there is
// none.
func readReport(path string) string {
	if path == "" {
		return "(no report path in the output)"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(report: %v)", err)
	}
	return string(b)
}

// reportJudgement is the report's canary section: the window's figures,
// every check and what the window could detect.
func reportJudgement(report string) string {
	i := strings.Index(report, "## Canary against production")
	if i < 0 {
		return "(the report has no canary section)"
	}
	if j := strings.Index(report[i:], "## Steps"); j >= 0 {
		return report[i : i+j]
	}
	return report[i:]
}

var windowFigures = regexp.MustCompile(`Window (\S+) of \S+, decision \*\*\w+\*\*; canary (\d+) requests`)

// canaryRate is the canary's request rate over the window the report
// states.
func canaryRate(report string) string {
	m := windowFigures.FindStringSubmatch(report)
	if m == nil {
		return "rate unknown"
	}
	elapsed, err1 := time.ParseDuration(m[1])
	n, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || elapsed <= 0 {
		return "rate unknown"
	}
	return fmt.Sprintf("%d requests in %s = %.2f requests/s", n, elapsed, float64(n)/elapsed.Seconds())
}

// liveTraffic sends the live rows to production at a fixed rate in the
// background (loadgen: open loop, a request finding 64 in flight is dropped
// and counted), until stopped.
type liveTraffic struct {
	cancel context.CancelFunc
	done   chan struct{}
	res    loadgen.Result
}

func startLiveTraffic(url string, bodies [][]byte, rate float64) *liveTraffic {
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveTraffic{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, _ = loadgen.Run(ctx, loadgen.Options{URL: url, Rate: rate, Duration: time.Hour,
			Body: func(i int) []byte { return bodies[i%len(bodies)] }})
	}()
	return l
}

// stop ends the traffic and returns what it measured.
func (l *liveTraffic) stop() loadgen.Result {
	l.cancel()
	<-l.done
	return l.res
}
