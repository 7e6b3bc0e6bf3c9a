package deploy

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The exit codes of modelgate promote that the examples branch on.
var promoteCodes = []int{0, 3, 1, 2}

func readExample(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("examples", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// checkPromoteArgs checks that args (after "modelgate") are a command line
// modelgate accepts: promote's help for them, and a real run against a
// server that refuses the token, which must fail as an error (1), not as a
// usage error (2: an unknown flag, a missing model, a bad value).
func checkPromoteArgs(t *testing.T, args []string) {
	t.Helper()
	if len(args) < 2 || args[0] != "promote" {
		t.Fatalf("command line %q: want modelgate promote MODEL ...", args)
	}
	bin := mustModelgate(t)
	out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "promote MODEL --version V") {
		t.Fatalf("modelgate %s --help: %v\n%s", strings.Join(args, " "), err, out)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error": {"code": "unauthorized", "message": "unknown token"}}`))
	}))
	defer srv.Close()
	run := append([]string(nil), args...)
	for i := range run {
		if i > 0 && run[i-1] == "--server" {
			run[i] = srv.URL
		}
	}
	cmd := exec.Command(bin, run...)
	cmd.Env = append(os.Environ(), "MODELGATE_TOKEN=a-token-the-server-refuses", "MODELGATE_SERVER="+srv.URL)
	cmd.Dir = t.TempDir() // no modelgate.yaml: all defaults
	out, err = cmd.CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("modelgate %s against a server refusing the token: exit %d, want 1\n%s", strings.Join(run, " "), code, out)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestJobExample checks the Job's command line with modelgate and applies
// the Job to a real API server.
func TestJobExample(t *testing.T) {
	job := &unstructured.Unstructured{Object: readExample(t, "job.yaml")}
	spec := lookup(job.Object, "spec").(map[string]any)
	pod := lookup(spec, "template.spec").(map[string]any)
	c := lookup(pod, "containers.0").(map[string]any)
	if spec["backoffLimit"] != float64(0) || pod["restartPolicy"] != "Never" {
		t.Errorf("backoffLimit %v, restartPolicy %v: want 0 and Never", spec["backoffLimit"], pod["restartPolicy"])
	}
	if got := lookup(c, "env.0.valueFrom.secretKeyRef.name"); lookup(c, "env.0.name") != "MODELGATE_TOKEN" || got == nil {
		t.Errorf("env %v: want MODELGATE_TOKEN from a Secret", c["env"])
	}
	args := strs(c["args"])
	if diff := cmp.Diff([]string{"--server", "http://modelgate:8095"}, args[len(args)-2:]); diff != "" {
		t.Errorf("the Job's server (-want +got):\n%s", diff)
	}
	checkPromoteArgs(t, args)

	cl := mustCluster(t)
	got, err := newApplier(t, cl).apply(context.Background(), []*unstructured.Unstructured{job}, "mlops")
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedString(got[0].Object, "spec", "template", "spec", "restartPolicy"); p != "Never" {
		t.Errorf("the API server's Job has restartPolicy %q", p)
	}
}

// stubModelgate writes a modelgate that records its arguments (one a line)
// in dir/args and exits with $STUB_EXIT, and returns dir.
func stubModelgate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub := "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > \"$STUB_DIR/args\"\nexit \"$STUB_EXIT\"\n"
	if err := os.WriteFile(filepath.Join(dir, "modelgate"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func recordedArgs(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatalf("the stub modelgate was not run: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestGitHubActionsExample runs the promote step's script as GitHub runs a
// bash step, against a stub modelgate exiting with each of promote's codes,
// and checks the branch taken; the command line it ran goes to modelgate.
func TestGitHubActionsExample(t *testing.T) {
	wf := readExample(t, "github-actions.yml")
	var step map[string]any
	for _, s := range lookup(wf, "jobs.promote.steps").([]any) {
		if s.(map[string]any)["id"] == "promote" {
			step = s.(map[string]any)
		}
	}
	if step == nil || step["shell"] != "bash" {
		t.Fatalf("no bash step with id promote in jobs.promote: %v", step)
	}
	if env := step["env"].(map[string]any); env["MODELGATE_TOKEN"] != "${{ secrets.MODELGATE_TOKEN }}" {
		t.Errorf("MODELGATE_TOKEN = %v, want it from the secrets", env["MODELGATE_TOKEN"])
	}
	script := filepath.Join(t.TempDir(), "promote.sh")
	if err := os.WriteFile(script, []byte(step["run"].(string)), 0o644); err != nil {
		t.Fatal(err)
	}
	stub := stubModelgate(t)
	want := map[int]string{0: "promoted", 3: "rolled-back", 1: "needs-a-person", 2: "usage-error"}
	for _, code := range promoteCodes {
		dir := t.TempDir()
		output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script) // GitHub's shell: bash
		cmd.Env = append(os.Environ(), "PATH="+stub+":"+os.Getenv("PATH"), "STUB_DIR="+stub, "STUB_EXIT="+strconv.Itoa(code),
			"MODEL=demand-forecast", "VERSION=7", "MODELGATE_SERVER=http://modelgate:8095", "MODELGATE_TOKEN=t",
			"GITHUB_OUTPUT="+output, "GITHUB_STEP_SUMMARY="+summary)
		out, err := cmd.CombinedOutput()
		if got := exitCode(err); got != code {
			t.Errorf("modelgate exiting %d: the step exits %d, want %d\n%s", code, got, code, out)
		}
		if b, _ := os.ReadFile(output); string(b) != "outcome="+want[code]+"\n" {
			t.Errorf("modelgate exiting %d: GITHUB_OUTPUT %q, want outcome=%s", code, b, want[code])
		}
		if _, err := os.Stat(summary); (err == nil) != (code == 0) {
			t.Errorf("modelgate exiting %d: a step summary %v, want one only when promoted", code, err == nil)
		}
	}
	checkPromoteArgs(t, recordedArgs(t, stub))
}

// TestArgoExample checks the WorkflowTemplate: the promote step's command
// line (with the parameters filled in) with modelgate, its container against
// the API server (as a pod, server-side dry run: Argo's CRD is not
// installed), and the outcome script with the exit code of a stub modelgate
// run with those arguments, for each code.
func TestArgoExample(t *testing.T) {
	wf := readExample(t, "argo-workflow.yaml")
	templates := map[string]map[string]any{}
	for _, tm := range lookup(wf, "spec.templates").([]any) {
		templates[tm.(map[string]any)["name"].(string)] = tm.(map[string]any)
	}
	steps := lookup(templates["promote"], "steps").([]any)
	first, second := lookup(steps[0], "0").(map[string]any), lookup(steps[1], "0").(map[string]any)
	if lookup(first, "continueOn.failed") != true || lookup(second, "arguments.parameters.0.value") != "{{steps.promote.exitCode}}" {
		t.Errorf("steps %v: want promote (continueOn failed), then outcome with its exit code", steps)
	}
	params := strings.NewReplacer("{{workflow.parameters.model}}", "demand-forecast", "{{workflow.parameters.version}}", "7")
	c := lookup(templates["modelgate-promote"], "container").(map[string]any)
	var args []string
	for _, a := range strs(c["args"]) {
		args = append(args, params.Replace(a))
	}
	checkPromoteArgs(t, args)
	checkArgoOutcome(t, params, lookup(templates["outcome"], "script.source").(string), args)
	checkPodSpec(t, c)
}

func checkArgoOutcome(t *testing.T, params *strings.Replacer, source string, args []string) {
	t.Helper()
	stub := stubModelgate(t)
	want := map[int]string{0: "promoted:", 3: "rolled back:", 1: "needs a person:", 2: "usage:"}
	for _, code := range promoteCodes {
		run := exec.Command(filepath.Join(stub, "modelgate"), args...)
		run.Env = append(os.Environ(), "STUB_DIR="+stub, "STUB_EXIT="+strconv.Itoa(code))
		got := exitCode(run.Run())
		if diff := cmp.Diff(args, recordedArgs(t, stub)); diff != "" {
			t.Fatalf("stub args (-want +got):\n%s", diff)
		}
		script := params.Replace(strings.ReplaceAll(source, "{{inputs.parameters.code}}", strconv.Itoa(got)))
		if strings.Contains(script, "{{") {
			t.Fatalf("unfilled parameters in the outcome script:\n%s", script)
		}
		// bash, and sh: the step runs in busybox's.
		for _, shell := range []string{"bash", "sh"} {
			var out bytes.Buffer
			cmd := exec.Command(shell, "-c", script)
			cmd.Stdout, cmd.Stderr = &out, &out
			if exit := exitCode(cmd.Run()); exit != code || !strings.HasPrefix(out.String(), want[code]) {
				t.Errorf("promote exiting %d: the outcome step (%s) exits %d saying %q, want %d and %q", code, shell, exit, out.String(), code, want[code])
			}
		}
	}
}

// checkPodSpec creates (server-side dry run) a pod running the promote
// container, as Argo would.
func checkPodSpec(t *testing.T, c map[string]any) {
	t.Helper()
	cl := mustCluster(t)
	c = map[string]any(runtimeCopy(c))
	c["name"] = "main"
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "modelgate-promote", "namespace": "mlops"},
		"spec":     map[string]any{"restartPolicy": "Never", "containers": []any{c}},
	}}
	ri, err := newApplier(t, cl).resource(pod, "mlops")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ri.Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the API server refuses the promote step's container: %v", err)
	}
}

func runtimeCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
