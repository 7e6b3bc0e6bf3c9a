package mlflow_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's "Using it with MLflow" runs as written against a real MLflow
// server: its register.py (MLflow's own client logs, registers, tags and
// sets the aliases), its modelgate.yaml and its commands (registry digest
// --set-tag on the versions MLflow's client registered, serve, deploy,
// replay, approve, promote) and its requests. Only what a test must change
// is changed: the server's address, free ports, the example's path, a
// short canary window and no bake, more replayed traffic; each change
// fails the test if the README no longer has the text it replaces.
func TestReadmeMLflowWalkthrough(t *testing.T) {
	if os.Getenv("MODELGATE_MLFLOW_URI") != "" {
		t.Skip("the walk-through registers demand-forecast from version 1: it needs a fresh server, not MODELGATE_MLFLOW_URI")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the walk-through's requests need curl")
	}
	s := mustServer(t)
	bin := buildModelgate(t)
	example, err := filepath.Abs("../examples/demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, "## Using it with MLflow")
	data, admin := freeAddr(t), freeAddr(t)
	edit := func(what, text string, from, to string) string {
		t.Helper()
		if !strings.Contains(text, from) {
			t.Fatalf("the README's %s no longer holds %q", what, from)
		}
		return strings.ReplaceAll(text, from, to)
	}

	dir := t.TempDir()
	cfg := blocks.first(t, "yaml", "")
	cfg = edit("modelgate.yaml", cfg, "127.0.0.1:8080", data)
	cfg = edit("modelgate.yaml", cfg, "127.0.0.1:8081", admin)
	cfg = edit("modelgate.yaml", cfg, "../examples/demand-forecast", example)
	cfg += "canary: {percent: 30, window: 6s, interval: 500ms, extension: 6s, min_requests: 30}\nsmoke: {count: 10, warmup: 1}\nbake: {duration: 0s}\n"
	mustWrite(t, filepath.Join(dir, "modelgate.yaml"), []byte(cfg))
	mustWrite(t, filepath.Join(dir, "register.py"), []byte(blocks.first(t, "python", "")))

	script := blocks.first(t, "sh", "modelgate promote")
	script = edit("commands", script, "http://127.0.0.1:5000", s.URI)
	script = edit("commands", script, "../examples/demand-forecast", example)
	script = edit("commands", script, "--rate 20", "--rate 150")
	wait := fmt.Sprintf("for i in $(seq 300); do (exec 3<>/dev/tcp/%s) 2>/dev/null && (exec 3<>/dev/tcp/%s) 2>/dev/null && break; sleep 0.1; done\n",
		strings.Replace(data, ":", "/", 1), strings.Replace(admin, ":", "/", 1))
	script = regexp.MustCompile(`(?m)^modelgate serve &.*\n`).ReplaceAllStringFunc(script, func(line string) string { return line + wait })
	requests := edit("requests", blocks.first(t, "sh", "curl"), "localhost:8080", data)
	script = "set -euo pipefail\n" + script + "echo '== requests'\n" + requests

	out := runScript(t, dir, s.Venv, bin, script)
	for _, want := range []string{"registered demand-forecast version 1 as @champion", "registered demand-forecast version 2 as @challenger",
		"demand-forecast version 2: model_sha256 ", "tag model_sha256 set"} {
		if !strings.Contains(out, want) {
			t.Errorf("the walk-through's output lacks %q:\n%s", want, out)
		}
	}
	if answers := out[strings.LastIndex(out, "== requests"):]; strings.Count(answers, `"predictions":[`) != 1 || strings.Count(answers, `"outputs":[`) != 1 {
		t.Errorf("the README's requests:\n%s", answers)
	}
	st := readState(t, s, "demand-forecast")
	if st.Aliases["champion"] != "2" || st.Aliases["previous"] != "1" || st.Aliases["challenger"] != "" ||
		st.Versions["2"].Tags["modelgate.outcome"] != "promoted" || st.Versions["2"].Tags["model_sha256"] == "" {
		t.Fatalf("MLflow after the walk-through: %+v", st)
	}
}

// readme is the fenced code blocks of one README section, in order.
type readme []struct{ lang, text string }

// readmeBlocks returns the code blocks of the README section under heading.
func readmeBlocks(t *testing.T, heading string) readme {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	section := text[i+1:]
	if j := strings.Index(section[len(heading):], "\n## "); j >= 0 {
		section = section[:len(heading)+j]
	}
	var blocks readme
	for _, m := range regexp.MustCompile("(?ms)^```(\\w+)\\n(.*?)^```$").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, struct{ lang, text string }{m[1], m[2]})
	}
	return blocks
}

// first returns the first block in lang that contains holding.
func (r readme) first(t *testing.T, lang, holding string) string {
	t.Helper()
	for _, b := range r {
		if b.lang == lang && strings.Contains(b.text, holding) {
			return b.text
		}
	}
	t.Fatalf("the README section has no %s block holding %q", lang, holding)
	return ""
}

// runScript runs script with bash in dir, with the venv's python and the
// modelgate binary first on PATH, and returns its output. The jobs it
// leaves in the background are stopped with it.
func runScript(t *testing.T, dir, venvDir, bin, script string) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "walkthrough.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+filepath.Join(venvDir, "bin")+":"+os.Getenv("PATH"), "PYTHONWARNINGS=ignore",
		"MLFLOW_ENABLE_ASYNC_LOGGING=false")
	cmd.Stdout, cmd.Stderr = log, log // a file, not a pipe: background jobs keep their copy open
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }()
	select {
	case err = <-done:
	case <-time.After(8 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = fmt.Errorf("timed out: %v", <-done)
	}
	out, _ := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, tail(string(out), 80))
	}
	return string(out)
}

// freeAddr returns a loopback host:port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
