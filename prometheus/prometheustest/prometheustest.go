// Package prometheustest runs a real Prometheus (the Debian package, or
// $MODELGATE_PROMETHEUS) for tests: Start scrapes one target every second
// and returns the base URL of its HTTP API; Promtool finds promtool. It is
// imported by tests only.
package prometheustest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Start runs Prometheus scraping target (host:port) every second until tb
// ends, and returns its base URL once it is ready. Without a Prometheus
// binary it skips tb (fails it under MODELGATE_REQUIRE_INTEGRATION=1).
func Start(tb testing.TB, target string) string {
	tb.Helper()
	return StartWithRules(tb, target, nil)
}

// StartWithRules is Start with a rules file (rule_files), when rules is
// not nil.
func StartWithRules(tb testing.TB, target string, rules []byte) string {
	tb.Helper()
	path := binary(tb, "MODELGATE_PROMETHEUS", "prometheus")
	dir := tb.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: exporter\n  static_configs:\n  - targets: [%q]\n", target)
	if rules != nil {
		cfg += "rule_files: [rules.yaml]\n"
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base := "http://" + addr
	WaitFor(tb, 30*time.Second, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

// Promtool returns the path of promtool (Debian's prometheus package has
// it; $MODELGATE_PROMTOOL names another). Without it tb skips, or fails
// under MODELGATE_REQUIRE_INTEGRATION=1.
func Promtool(tb testing.TB) string {
	tb.Helper()
	return binary(tb, "MODELGATE_PROMTOOL", "promtool")
}

// binary finds $env, else name, on PATH; skips tb without it (fails it
// under MODELGATE_REQUIRE_INTEGRATION=1).
func binary(tb testing.TB, env, name string) string {
	tb.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		bin = name
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("%s not found (%s): install Prometheus with scripts/prometheus-install, or set %s", name, bin, env)
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return path
}

// WaitFor polls ok every 200ms and fails tb if it is not true within d.
func WaitFor(tb testing.TB, d time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Query runs an instant PromQL query against base and returns its single
// value; an error when the answer is not exactly one sample.
func Query(base, q string) (float64, error) {
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %v %+v", q, err, r)
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// AtLeast reports whether q's single value is at least min.
func AtLeast(base, q string, min float64) bool {
	v, err := Query(base, q)
	return err == nil && v >= min
}
