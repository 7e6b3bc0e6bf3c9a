package mlflow_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/mlflow"
	"github.com/modelgate/modelgate/modelgatetest"
)

// The integration tests run against a real `mlflow server` started from the
// virtualenv scripts/mlflow-env installs ($MODELGATE_MLFLOW_VENV, default
// <repo>/.cache/mlflow-venv). Without it they skip, unless
// MODELGATE_REQUIRE_INTEGRATION=1 makes that a failure. MODELGATE_MLFLOW_URI
// points them at a server that is already running instead.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range servers {
		if s.s != nil {
			s.s.stop()
		}
	}
	os.Exit(code)
}

var (
	serversMu sync.Mutex
	servers   = map[string]*lazyServer{} // by app name
)

type lazyServer struct {
	once sync.Once
	s    *server
}

// server is one `mlflow server` process with a fresh SQLite store and
// artifact destination.
type server struct {
	URI       string
	StartTime time.Duration // from exec to a healthy /health
	Venv      string
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has exited
	dir       string
	err       error
}

// mustServer returns the shared MLflow server (started on first use).
func mustServer(t testing.TB) *server {
	t.Helper()
	if uri := os.Getenv("MODELGATE_MLFLOW_URI"); uri != "" {
		return &server{URI: uri, Venv: modelgatetest.MLflowVenv(t)}
	}
	return mustServerApp(t, "")
}

// mustServerApp starts (once) a server running the named --app-name
// ("" for the plain server, "basic-auth" for MLflow's auth app).
func mustServerApp(t testing.TB, app string) *server {
	t.Helper()
	v := modelgatetest.MLflowVenv(t)
	serversMu.Lock()
	ls, ok := servers[app]
	if !ok {
		ls = &lazyServer{}
		servers[app] = ls
	}
	serversMu.Unlock()
	ls.once.Do(func() {
		ls.s = startServer(v, app)
		if ls.s.err == nil {
			fmt.Fprintf(os.Stderr, "mlflow server %q ready at %s after %s\n", app, ls.s.URI, ls.s.StartTime.Round(100*time.Millisecond))
		}
	})
	s := ls.s
	if s.err != nil {
		t.Fatalf("start mlflow server: %v", s.err)
	}
	return s
}

func startServer(venvDir, app string) *server {
	s := &server{Venv: venvDir}
	dir, err := os.MkdirTemp("", "modelgate-mlflow-")
	if err != nil {
		s.err = err
		return s
	}
	s.dir = dir
	port, err := freePort()
	if err != nil {
		s.err = err
		return s
	}
	s.URI = fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"server",
		"--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "artifacts"),
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--workers", "1"}
	if app != "" {
		args = append(args, "--app-name", app)
	}
	s.cmd = exec.Command(filepath.Join(venvDir, "bin", "mlflow"), args...)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "MLFLOW_AUTH_CONFIG_PATH="+authConfig(dir),
		"MLFLOW_FLASK_SERVER_SECRET_KEY=modelgate-test-secret") // the auth app's CSRF key
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		s.err = err
		return s
	}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // uvicorn forks workers: stop the group
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		s.err = err
		return s
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := waitHealthy(s.URI, s.done, 5*time.Minute); err != nil {
		logText, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		s.stop()
		s.err = fmt.Errorf("%v; server log:\n%s", err, tail(string(logText), 40))
		return s
	}
	s.StartTime = time.Since(start)
	return s
}

// authConfig writes the basic-auth app's configuration: a fresh user
// database and an admin with a password long enough for current MLflow.
func authConfig(dir string) string {
	p := filepath.Join(dir, "basic_auth.ini")
	ini := "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///" + filepath.Join(dir, "auth.db") +
		"\nadmin_username = " + adminUser + "\nadmin_password = " + adminPassword + "\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
	_ = os.WriteFile(p, []byte(ini), 0o600)
	return p
}

const (
	adminUser     = "admin"
	adminPassword = "modelgate-admin-password-1234"
)

func waitHealthy(uri string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("mlflow server exited before it was healthy")
		default:
		}
		resp, err := client.Get(uri + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.New("mlflow server not healthy after " + limit.String())
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// mustRegistry returns a Registry on s with options changed by edit.
func mustRegistry(t testing.TB, s *server, edit func(*mlflow.Options)) *mlflow.Registry {
	t.Helper()
	o := mlflow.Options{URI: s.URI, Experiment: "modelgate-test", Backoff: 50 * time.Millisecond}
	if edit != nil {
		edit(&o)
	}
	r, err := mlflow.New(o)
	if err != nil {
		t.Fatalf("mlflow.New: %v", err)
	}
	return r
}

// python runs a script with the venv's interpreter and returns its stdout.
func python(t testing.TB, s *server, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.Venv, "bin", "python"), args...)
	cmd.Env = append(append(os.Environ(), "MLFLOW_TRACKING_URI="+s.URI, "PYTHONWARNINGS=ignore"), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 30))
	}
	return string(out)
}
