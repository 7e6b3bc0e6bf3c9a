package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

// wrkMarker starts the line the Lua script's done() prints.
const wrkMarker = "SPLITBENCH "

// wrkResult is what wrk measured in one run.
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Connect    int64 `json:"connect"`
	Read       int64 `json:"read"`
	Write      int64 `json:"write"`
	Status     int64 `json:"status"` // answers that were not 2xx or 3xx
	Timeout    int64 `json:"timeout"`
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
}

// rate is the requests per second wrk completed.
func (r wrkResult) rate() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// errors is every failure wrk saw: non-2xx answers and socket errors.
func (r wrkResult) errors() int64 { return r.Connect + r.Read + r.Write + r.Status + r.Timeout }

// luaScript posts the bodies in turn and prints wrk's summary as one JSON
// line after wrkMarker. Bodies are Lua long strings, whose level is chosen
// so no body can close them.
func luaScript(bodies [][]byte) string {
	var b strings.Builder
	b.WriteString("local bodies = {\n")
	for _, body := range bodies {
		eq := "="
		for bytes.Contains(body, []byte("]"+eq+"]")) {
			eq += "="
		}
		fmt.Fprintf(&b, "[%s[%s]%s],\n", eq, body, eq)
	}
	b.WriteString(`}
local i = 0
local headers = {["Content-Type"] = "application/json"}
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('` + wrkMarker + `{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`)
	return b.String()
}

// runWrk runs wrk pinned to core against url for d with conns connections.
func runWrk(ctx context.Context, core, conns int, d time.Duration, script, url string) (wrkResult, error) {
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	cmd := exec.CommandContext(ctx, "taskset", "-c", strconv.Itoa(core),
		"wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+secs+"s", "-s", script, url)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(out)
}

// parseWrk finds the summary line in wrk's output.
func parseWrk(out []byte) (wrkResult, error) {
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, wrkMarker); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, fmt.Errorf("wrk summary %q: %w", rest, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no %q line; its output: %s", strings.TrimSpace(wrkMarker), out)
}

// runLoadPinned runs `splitbench load` pinned to core 1, where wrk runs: one
// second unmeasured, then d at rate.
func runLoadPinned(ctx context.Context, bin, example, url string, rate float64, d time.Duration) (loadgen.PacedResult, error) {
	cmd := exec.CommandContext(ctx, "taskset", "-c", "1", filepath.Join(bin, "splitbench"), "load",
		"-url", url, "-example", example, "-rate", strconv.FormatFloat(rate, 'f', -1, 64), "-duration", d.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return loadgen.PacedResult{}, fmt.Errorf("splitbench load: %w: %s", err, out)
	}
	var r loadgen.PacedResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return r, fmt.Errorf("splitbench load printed %q: %w", out, err)
	}
	return r, nil
}
