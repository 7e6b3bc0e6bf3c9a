package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

const testToken = "s3cret-token"

// served is a gateway served the way modelgate serve does: the data plane
// and the admin API on their own listeners, the admin API behind a token.
type served struct {
	*testEnv
	dataURL, adminURL string
}

// newServed serves a test gateway; admin is the admin listener's address
// ("127.0.0.1:0" or a socket path).
func newServed(t *testing.T, admin string) *served {
	t.Helper()
	return newServedWith(t, admin, nil)
}

// newServedWith is newServed with edit adjusting the options.
func newServedWith(t *testing.T, admin string, edit func(*gateway.Options)) *served {
	t.Helper()
	e := newTestEnv(t, func(o *gateway.Options) {
		o.AdminToken, o.AdminTokenHint = testToken, "set MODELGATE_ADMIN_TOKEN"
		if edit != nil {
			edit(o)
		}
	})
	aln, err := gateway.ListenAdmin(admin)
	if err != nil {
		t.Fatal(err)
	}
	data := serveOn(t, e.srv, aln)
	s := &served{testEnv: e, dataURL: "http://" + data.String(), adminURL: gateway.AdminURLFor(aln.Addr().String())}
	s.dep = s.deployer(gateway.Endpoints{AdminToken: testToken})
	s.metrics = gateway.NewMetricsSourceFor(gateway.Endpoints{URL: s.dataURL, AdminURL: s.adminURL, AdminToken: testToken})
	return s
}

// serveOn serves srv with Serve until the test ends: the data plane on a
// new loopback listener, whose address it returns, the admin API on admin.
func serveOn(t *testing.T, srv *gateway.Server, admin net.Listener) net.Addr {
	t.Helper()
	data, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, data, admin) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return data.Addr()
}

// deployer returns a Deployer of this gateway with ep's token settings.
func (s *served) deployer(ep gateway.Endpoints) *gateway.Deployer {
	ep.URL, ep.AdminURL = s.dataURL, s.adminURL
	d := gateway.NewDeployerFor(ep)
	d.PollInterval = time.Millisecond
	return d
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, jsonBody(resp)
}

// The data listener serves predictions and no /admin/ path; the admin
// listener answers only with the token.
func TestServe_ControlPlaneApart(t *testing.T) {
	s := newServed(t, "127.0.0.1:0")
	s.register("1", 1)
	s.mustSetStable("1")
	if st, b := post(t, s.dataURL+"/v1/models/iris:predict", `{"instances": [[3, 1]]}`); st != 200 || b != `{"predictions":[2]}` {
		t.Errorf("prediction on the data listener: %d %s", st, b)
	}
	for _, path := range []string{"/admin/models", "/admin/models/iris", "/admin/models/iris/observe"} {
		if st, _ := get(t, s.dataURL+path, testToken); st != 404 {
			t.Errorf("GET %s on the data listener: %d, want 404", path, st)
		}
	}
	if st, b := get(t, s.adminURL+"/admin/models/iris", testToken); st != 200 || !strings.Contains(b, `"stable":"1"`) {
		t.Errorf("admin with the token: %d %s", st, b)
	}
	st, b := get(t, s.adminURL+"/admin/models", "")
	if st != 401 || !strings.Contains(b, `needs its admin token, sent as \"Authorization: Bearer \u003ctoken\u003e\"`) || !strings.Contains(b, "set MODELGATE_ADMIN_TOKEN") {
		t.Errorf("admin without a token: %d %s", st, b)
	}
	if st, b := get(t, s.adminURL+"/admin/models", "wrong"); st != 401 || !strings.Contains(b, "the admin token sent is not the gateway's") {
		t.Errorf("admin with a wrong token: %d %s", st, b)
	}
	if st, _ := get(t, s.adminURL+"/v1/models/iris", testToken); st != 404 {
		t.Errorf("the data plane on the admin listener: %d, want 404", st)
	}
	if _, err := s.metrics.Observe(t.Context(), "iris"); err != nil {
		t.Errorf("Observe with the token: %v", err)
	}
}

func TestServe_DeployerToken(t *testing.T) {
	s := newServed(t, "127.0.0.1:0")
	ctx := t.Context()
	if err := s.dep.CheckTarget(ctx, "iris"); err != nil {
		t.Errorf("CheckTarget with the token: %v", err)
	}
	err := s.deployer(gateway.Endpoints{AdminToken: "wrong"}).CheckTarget(ctx, "iris")
	wantCode(t, err, modelgate.EUNAUTHORIZED, "the admin token sent is not the gateway's")
	if e := (*modelgate.Error)(nil); !errors.As(err, &e) || e.Hint != "set MODELGATE_ADMIN_TOKEN" {
		t.Errorf("hint of a refused call: %+v", err)
	}

	// A token file is read at every call: missing, then written by a
	// gateway that started later.
	file := filepath.Join(t.TempDir(), "admin-token")
	d := s.deployer(gateway.Endpoints{AdminTokenFile: file})
	_, err = d.Traffic(ctx, "iris")
	wantCode(t, err, modelgate.EUNAUTHORIZED, "(no admin token was sent: "+file+" holds none)")
	if err := os.WriteFile(file, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Traffic(ctx, "iris"); err != nil {
		t.Errorf("with the token file: %v", err)
	}
}

// The admin API can listen on a unix socket instead, only its owner may
// connect, and a socket a crash left behind does not stop a restart.
func TestServe_AdminUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	s := newServed(t, path)
	if s.adminURL != "unix://"+path {
		t.Fatalf("admin URL %q", s.adminURL)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v (%v), want 0600", fi.Mode(), err)
	}
	s.register("1", 1)
	s.mustSetStable("1")
	s.wantTraffic(modelgate.TrafficSplit{Stable: "1"})
	_, err = s.deployer(gateway.Endpoints{}).Traffic(t.Context(), "iris")
	wantCode(t, err, modelgate.EUNAUTHORIZED, "needs its admin token")
}

func TestServe_NeedsToken(t *testing.T) {
	srv := gateway.NewServer(gateway.Options{Loader: func(string) (gateway.Model, error) { return nil, nil }})
	err := srv.Serve(t.Context(), nil, nil)
	wantCode(t, err, modelgate.EINVALID, "Serve needs Options.AdminToken")
}

// With busy polling the data plane answers as without it, one request
// after another and many at once, and Serve still ends cleanly.
func TestServe_BusyPoll(t *testing.T) {
	s := newServedWith(t, "127.0.0.1:0", func(o *gateway.Options) { o.BusyPoll = 20 * time.Millisecond })
	s.register("1", 1)
	s.mustSetStable("1")
	url := s.dataURL + "/v1/models/iris:predict"
	for i := range 200 {
		if st, b := post(t, url, `{"instances": [[3, 1]]}`); st != 200 || b != `{"predictions":[2]}` {
			t.Fatalf("request %d: %d %s", i, st, b)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				resp, err := http.Post(url, "application/json", strings.NewReader(`{"instances": [[3, 1]]}`))
				if err != nil {
					errs <- err.Error()
					return
				}
				b := jsonBody(resp)
				resp.Body.Close()
				if resp.StatusCode != 200 || b != `{"predictions":[2]}` {
					errs <- fmt.Sprintf("%d %s", resp.StatusCode, b)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("concurrent request:", e)
	}
}
