package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	// a command name with spaces and parentheses; utime 1234, stime 56
	stat := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 1 0 100 0 0"
	got, err := parseStatTicks(stat)
	if err != nil || got != 1290 {
		t.Fatalf("got %d %v, want 1290", got, err)
	}
	if _, err := parseStatTicks("4242 (x) S 1 2"); err == nil {
		t.Fatal("a short stat line parsed")
	}
}

func TestCPUTicks_Self(t *testing.T) {
	n, err := cpuTicks(os.Getpid())
	if err != nil || n < 0 {
		t.Fatalf("cpuTicks(self) = %d, %v", n, err)
	}
}

func TestParseVoluntary(t *testing.T) {
	status := "Name:\tnginx\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n"
	if n, ok := parseVoluntary(status); !ok || n != 1234 {
		t.Fatalf("got %d %v, want 1234 (not the nonvoluntary 56)", n, ok)
	}
	if _, ok := parseVoluntary("Name:\tx\n"); ok {
		t.Fatal("a status without the field parsed")
	}
}

// A shell waiting on one short sleep after another goes to sleep each
// time. (The test's own process would not do: its threads come and go, and
// a thread that ends takes its count with it.)
func TestSleeps_Grows(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do sleep 0.01; done")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sh: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(50 * time.Millisecond)
	before, err := sleeps(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	after, err := sleeps(cmd.Process.Pid)
	if err != nil || after < before+5 {
		t.Fatalf("sleeps went from %d to %d (%v) over 300 ms of 10 ms sleeps, want at least 5 more", before, after, err)
	}
	if _, err := sleeps(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestParseIPIs(t *testing.T) {
	text := `           CPU0       CPU1
  0:         41          0   IO-APIC   2-edge      timer
LOC:   56604613   86131798   Local timer interrupts
RES:    7341911   60925352   Rescheduling interrupts
CAL:  178175256   93251449   Function call interrupts
TLB:          5          7   TLB shootdowns
`
	got, ok := parseIPIs(text)
	if want := [2]int64{7341911 + 178175256, 60925352 + 93251449}; !ok || got != want {
		t.Fatalf("got %v %v, want %v", got, ok, want)
	}
	if _, ok := parseIPIs("           CPU0\n  0:  41   IO-APIC\n"); ok {
		t.Fatal("a file without RES or CAL rows parsed")
	}
	if _, ok := parseIPIs("RES: 12 many Rescheduling interrupts\n"); ok {
		t.Fatal("a row with one core's count parsed as two")
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 1s test\n  1 threads\n" + wrkMarker +
		`{"requests":1000,"duration_us":2000000,"connect":1,"read":2,"write":0,"status":3,"timeout":4,"p50_us":500,"p99_us":900}` + "\nRequests/sec: 500\n"
	r, err := parseWrk([]byte(out))
	if err != nil || r.Requests != 1000 || r.rate() != 500 || r.errors() != 10 || r.P50US != 500 || r.P99US != 900 {
		t.Fatalf("got %+v %v", r, err)
	}
	if _, err := parseWrk([]byte("wrk: connection refused\n")); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("no summary line: %v", err)
	}
}

// Bodies holding the long-string closer of the first level get a higher
// level, so the script stays valid Lua; luac checks it where installed.
func TestLuaScript(t *testing.T) {
	s := luaScript([][]byte{[]byte(`{"instances":[[1]]}`), []byte(`{"a":"]=]"}`)})
	if !strings.Contains(s, `[=[{"instances":[[1]]}]=]`) || !strings.Contains(s, `[==[{"a":"]=]"}]==]`) {
		t.Fatalf("script:\n%s", s)
	}
	luac, err := exec.LookPath("luac")
	if err != nil {
		t.Skip("luac not installed")
	}
	path := filepath.Join(t.TempDir(), "post.lua")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(luac, "-p", path).CombinedOutput(); err != nil {
		t.Fatalf("luac: %v %s", err, out)
	}
}

// nginx accepts the configuration (nginx -t) where it is installed.
func TestNginxConf(t *testing.T) {
	conf := nginxConf(18080, "127.0.0.1:9001", "127.0.0.1:9002", 10)
	for _, want := range []string{"split_clients", "10% canary;", "server 127.0.0.1:9001;", "keepalive", `proxy_set_header Connection "";`} {
		if !strings.Contains(conf, want) {
			t.Errorf("configuration lacks %q", want)
		}
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-c", path, "-p", dir).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v %s", err, out)
	}
}

func TestMedianRow(t *testing.T) {
	rows := []row{{Proxy: "nginx", RPS: 3}, {Proxy: "modelgate", RPS: 1}, {Proxy: "nginx", RPS: 1}, {Proxy: "nginx", RPS: 2}}
	if got := medianRow(rows, "nginx"); got.RPS != 2 {
		t.Fatalf("median nginx row %+v", got)
	}
	if got := medianRow(rows, "direct"); got.Proxy != "direct" || got.RPS != 0 {
		t.Fatalf("no rows: %+v", got)
	}
}

// The added latency pairs each round's proxy with that round's direct run
// and takes the median over the rounds.
func TestAddedMedian(t *testing.T) {
	rows := []row{
		{Proxy: "direct", P50C1US: 40}, {Proxy: "nginx", P50C1US: 100}, {Proxy: "modelgate", P50C1US: 90},
		{Proxy: "direct", P50C1US: 80}, {Proxy: "nginx", P50C1US: 110}, {Proxy: "modelgate", P50C1US: 150},
		{Proxy: "direct", P50C1US: 45}, {Proxy: "nginx", P50C1US: 95}, {Proxy: "modelgate", P50C1US: 96},
	}
	c1 := func(r row) int64 { return r.P50C1US }
	if got := addedMedian(rows, "nginx", c1); got != 50 { // 60, 30, 50
		t.Errorf("nginx: %d, want 50", got)
	}
	if got := addedMedian(rows, "modelgate", c1); got != 51 { // 50, 70, 51
		t.Errorf("modelgate: %d, want 51", got)
	}
	if got := addedMedian(rows[:6], "nginx", c1); got != 45 { // 60, 30: their mean
		t.Errorf("two rounds: %d, want 45", got)
	}
	if got := addedMedian(nil, "nginx", c1); got != 0 {
		t.Errorf("no rows: %d", got)
	}
}

// Every round starts with the direct run (added p50s pair a proxy with its
// round's direct run), and the proxies take turns to run right after it.
func TestRoundOrder(t *testing.T) {
	for round, want := range []string{"direct nginx modelgate", "direct modelgate nginx", "direct nginx modelgate"} {
		if got := strings.Join(roundOrder(round, []string{"nginx", "modelgate"}), " "); got != want {
			t.Errorf("round %d: %s, want %s", round, got, want)
		}
	}
	for round, want := range []string{"direct nginx modelgate goloop", "direct modelgate goloop nginx", "direct goloop nginx modelgate", "direct nginx modelgate goloop"} {
		if got := strings.Join(roundOrder(round, options{goloop: true}.proxies()), " "); got != want {
			t.Errorf("with goloop, round %d: %s, want %s", round, got, want)
		}
	}
	o := options{goloop: true, busyPoll: 200 * time.Microsecond}
	if got := strings.Join(roundOrder(1, o.proxies()), " "); got != "direct modelgate modelgate-bp goloop nginx" {
		t.Errorf("with -busy-poll and goloop, round 1: %s", got)
	}
	rows := []row{{Proxy: "modelgate-bp"}, {Proxy: "direct"}}
	if got := strings.Join(proxiesIn(rows), " "); got != "nginx modelgate modelgate-bp" {
		t.Errorf("proxies in rows with modelgate-bp: %s", got)
	}
}

// Each fixed rate is summarised on its own: added p50s paired by round as
// for the closed-loop runs, CPU per request as medians, errors summed.
func TestFixedRateSummary(t *testing.T) {
	at := func(p50s ...int64) []rateRow {
		rs := make([]rateRow, len(p50s))
		for i, p := range p50s {
			rs[i] = rateRow{Rate: float64(1000 * (i + 1)), P50US: p, UpstreamCPUUS: float64(p) / 10, ProxyCPUUS: float64(p), Errors: 1}
		}
		return rs
	}
	rows := []row{
		{Proxy: "direct", Rates: at(50, 60)}, {Proxy: "nginx", Rates: at(100, 130)}, {Proxy: "modelgate", Rates: at(90, 140)},
		{Proxy: "direct", Rates: at(70, 60)}, {Proxy: "modelgate", Rates: at(100, 120)}, {Proxy: "nginx", Rates: at(130, 150)},
		{Proxy: "direct", Rates: at(50, 80)}, {Proxy: "nginx", Rates: at(90, 120)}, {Proxy: "modelgate", Rates: at(95, 160)},
	}
	got := fixedRateSummary(rows)
	if len(got) != 2 || got[0].Rate != 1000 || got[1].Rate != 2000 {
		t.Fatalf("summaries %+v, want one per rate", got)
	}
	// rate 1000: nginx adds 50, 60, 40; modelgate 40, 30, 45
	if a := got[0].AddedP50US; a["nginx"] != 50 || a["modelgate"] != 40 {
		t.Errorf("rate 1000 added p50s %v, want nginx 50, modelgate 40", a)
	}
	// rate 2000: nginx adds 70, 90, 40; modelgate 80, 60, 80
	if a := got[1].AddedP50US; a["nginx"] != 70 || a["modelgate"] != 80 {
		t.Errorf("rate 2000 added p50s %v, want nginx 70, modelgate 80", a)
	}
	if u := got[1].UpstreamCPUUS; u["direct"] != 6 || u["nginx"] != 13 || u["modelgate"] != 14 {
		t.Errorf("rate 2000 upstream CPU %v, want the medians 6, 13, 14", u)
	}
	if e := got[0].Errors; e["modelgate"] != 3 {
		t.Errorf("errors %v, want 3 for modelgate", e)
	}
	if got := fixedRateSummary([]row{{Proxy: "direct"}}); len(got) != 0 {
		t.Errorf("no fixed rates: %+v", got)
	}
}

func TestParseOptions_GoloopSpin(t *testing.T) {
	o, err := parseOptions([]string{"-goloop", "-goloop-spin", "200us"})
	if loopSupported && (err != nil || o.loopSpin != 200*time.Microsecond) {
		t.Fatalf("got %v %v", o.loopSpin, err)
	}
	if _, err := parseOptions([]string{"-goloop-spin", "200us"}); err == nil || !strings.Contains(err.Error(), "together with -goloop") {
		t.Fatalf("-goloop-spin alone: %v", err)
	}
}

func TestParseOptions_BusyPoll(t *testing.T) {
	o, err := parseOptions([]string{"-busy-poll", "200us"})
	if err != nil || o.busyPoll != 200*time.Microsecond || !slices.Contains(o.proxies(), "modelgate-bp") {
		t.Fatalf("-busy-poll 200us: %+v, %v", o, err)
	}
	if _, err := parseOptions([]string{"-busy-poll", "-1ms"}); err == nil || !strings.Contains(err.Error(), "-busy-poll") {
		t.Fatalf("-busy-poll -1ms: %v", err)
	}
	p, err := parseProxy([]string{"-stable", "http://a", "-canary", "http://b", "-busy-poll", "50us"})
	if err != nil || p.busyPoll != 50*time.Microsecond {
		t.Fatalf("splitbench proxy -busy-poll 50us: %+v, %v", p, err)
	}
}

// A proxy whose port was taken before it bound it is started again on
// another; any other failure is not retried.
func TestRetryPortClash(t *testing.T) {
	calls := 0
	clash := func() (target, error) {
		calls++
		if calls < 3 {
			return target{}, errors.New("splitbench: listen tcp 127.0.0.1:42751: bind: address already in use")
		}
		return target{url: "http://127.0.0.1:1"}, nil
	}
	if got, err := retryPortClash(3, clash); err != nil || got.url != "http://127.0.0.1:1" || calls != 3 {
		t.Errorf("two clashes, then a start: %+v, %v after %d calls", got, err, calls)
	}
	calls = 0
	other := func() (target, error) { calls++; return target{}, errors.New("nginx: unknown directive") }
	if _, err := retryPortClash(3, other); err == nil || calls != 1 {
		t.Errorf("another failure: %v after %d calls, want it once", err, calls)
	}
	calls = 0
	always := func() (target, error) { calls++; return target{}, errors.New("bind: address already in use") }
	if _, err := retryPortClash(3, always); err == nil || calls != 3 {
		t.Errorf("clashing every time: %v after %d calls, want an error after 3", err, calls)
	}
}
