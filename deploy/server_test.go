package deploy

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartServer runs modelgate server as the chart's pod would: with the
// rendered modelgate.yaml and the tokens and admin token from the rendered
// Secrets, against the test API server (as the service account rbac.yaml
// grants), and asks it what the probes and a pipeline ask. Only the pod's
// directories move to a temporary one, and the port to a free one.
func TestChartServer(t *testing.T) {
	c := mustCluster(t)
	vals := adminOnly()
	vals["tokens"] = map[string]any{"tokens": map[string]any{"a-long-operator-token": map[string]any{"name": "olga", "role": "operator"}}}
	// The embedded registry, so that /readyz has a registry to ask.
	vals["config"] = map[string]any{"registry": map[string]any{"type": "local", "uri": nil, "path": "/var/lib/modelgate/registry"}}
	objs := mustRender(t, "modelgate", "mlops", vals)

	dir := t.TempDir()
	port := freePort(t)
	cfg := stringAt(t, find(objs, "ConfigMap", "modelgate"), "data", "modelgate.yaml")
	cfg = strings.NewReplacer("/var/lib/modelgate", filepath.Join(dir, "data"), "/etc/modelgate/tokens", dir,
		"0.0.0.0:8095", fmt.Sprintf("127.0.0.1:%d", port)).Replace(cfg)
	write(t, filepath.Join(dir, "modelgate.yaml"), cfg)
	write(t, filepath.Join(dir, "tokens.yaml"), stringAt(t, find(objs, "Secret", "modelgate-tokens"), "stringData", "tokens.yaml"))
	admin := stringAt(t, find(objs, "Secret", "modelgate-admin-token"), "stringData", "admin-token")

	d := find(objs, "Deployment", "modelgate")
	args := strs(lookup(d.Object, "spec.template.spec.containers.0.args"))
	args[len(args)-1] = filepath.Join(dir, "modelgate.yaml")
	cmd := exec.Command(mustModelgate(t), args...)
	cmd.Dir = filepath.Join(dir)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "MODELGATE_SERVER_ADMIN_TOKEN="+admin)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		t.Logf("server log:\n%s", log.String())
	}()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	live := lookup(d.Object, "spec.template.spec.containers.0.livenessProbe.httpGet.path").(string)
	ready := lookup(d.Object, "spec.template.spec.containers.0.readinessProbe.httpGet.path").(string)
	waitStatus(t, base+live, "", http.StatusOK)
	for _, r := range []struct {
		path, token string
		want        int
	}{
		{ready, "", http.StatusOK},
		{"/api/v1/promotions", "a-long-operator-token", http.StatusOK},
		{"/api/v1/promotions", admin, http.StatusOK},
		{"/api/v1/promotions", "", http.StatusUnauthorized},
	} {
		if got := status(t, base+r.path, r.token); got != r.want {
			t.Errorf("GET %s (token %q): %d, want %d", r.path, r.token, got, r.want)
		}
	}
}

func stringAt(t *testing.T, obj *unstructured.Unstructured, fields ...string) string {
	t.Helper()
	if obj == nil {
		t.Fatalf("no object for %v", fields)
	}
	s, ok, err := unstructured.NestedString(obj.Object, fields...)
	if !ok || err != nil {
		t.Fatalf("%s %s: no %v", obj.GetKind(), obj.GetName(), fields)
	}
	return s
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus waits up to 30 s for url to answer want, as a startup probe.
func waitStatus(t *testing.T, url, token string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for got := 0; got != want; got = status(t, url, token) {
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d after 30s, want %d", url, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
