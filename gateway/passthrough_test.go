package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// scriptedUpstream is an external model server whose prediction answers a
// test sets: it records the bodies it received and counts the TCP
// connections opened to it.
type scriptedUpstream struct {
	*httptest.Server
	protocol string
	conns    atomic.Int64
	received chan struct{} // a prediction arrived (buffered)

	mu     sync.Mutex
	bodies []string
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
}

// newScriptedUpstream starts the upstream; configure changes its server
// before it starts (after would race with its serving goroutine).
func newScriptedUpstream(t *testing.T, protocol string, configure ...func(*http.Server)) *scriptedUpstream {
	u := &scriptedUpstream{protocol: protocol, received: make(chan struct{}, 100)}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	for _, f := range configure {
		f(u.Config)
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *scriptedUpstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(`{"name":"m","ready":true}`))
		return
	}
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, string(b))
	answer := u.answer
	u.mu.Unlock()
	u.received <- struct{}{}
	answer(w, r, b)
}

// respond makes every prediction answer status with body.
func (u *scriptedUpstream) respond(status int, body string) {
	u.setAnswer(func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func (u *scriptedUpstream) setAnswer(f func(w http.ResponseWriter, r *http.Request, body []byte)) {
	u.mu.Lock()
	u.answer = f
	u.mu.Unlock()
}

func (u *scriptedUpstream) lastBody() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		return ""
	}
	return u.bodies[len(u.bodies)-1]
}

// servedBy serves versions "1" (and a canary "2" when given) through the
// scripted upstreams, over a real loopback listener.
func servedBy(t *testing.T, edit func(*gateway.Options), ups map[string]*scriptedUpstream) *testEnv {
	e := newTestEnv(t, func(o *gateway.Options) {
		o.DeploymentLoader = func(d modelgate.Deployment) (gateway.Model, error) {
			u := ups[d.Version]
			return gateway.StartUpstream(t.Context(), gateway.UpstreamSpec{URL: u.URL, Protocol: u.protocol, Name: "m"}, d)
		}
		if edit != nil {
			edit(o)
		}
	})
	e.mustSetStable("1")
	return e
}

func postTo(t *testing.T, ctx context.Context, url, body string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// A V1 request to a V1 upstream reaches it byte for byte, and its answer
// reaches the client byte for byte, measured like any other.
func TestPassThrough_BodyAndAnswerUnchanged(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	up.respond(200, `{"predictions": [3, 4.5], "model": "kept"}`)
	e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
	body := `{ "instances": [ {"x": 1.50, "y": "a"}, [2, 3] ], "parameters": {"k": 1} }`
	st, got, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", body)
	if err != nil || st != 200 || got != `{"predictions": [3, 4.5], "model": "kept"}` {
		t.Fatalf("answer: %d %q %v", st, got, err)
	}
	if up.lastBody() != body {
		t.Fatalf("upstream received %q, the client sent %q", up.lastBody(), body)
	}
	w := e.observe()
	if w.Stable.Requests != 1 || w.Stable.Errors != 0 || w.Stable.Predictions.Count != 2 || w.Stable.Predictions.Mean() != 3.75 {
		t.Fatalf("stable figures %+v", w.Stable)
	}
	// recent requests are kept after the answer is written
	deadline := time.Now().Add(5 * time.Second)
	for {
		recent, err := e.dep.RecentRequests(t.Context(), "iris", 10)
		if err == nil && len(recent) == 2 && string(recent[0]) == `{"x":1.50,"y":"a"}` && string(recent[1]) == `[2,3]` {
			break
		}
		if err != nil || len(recent) != 0 || time.Now().After(deadline) {
			t.Fatalf("recent requests %q %v", recent, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Bad requests are refused by the gateway without reaching the upstream.
func TestPassThrough_BadRequestsStayHome(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	up.respond(200, `{"predictions":[1]}`)
	e := servedBy(t, func(o *gateway.Options) { o.MaxInstances = 2 }, map[string]*scriptedUpstream{"1": up})
	for _, c := range []struct{ body, want string }{
		{`{"instances":[1,2,3]}`, "limit of 2 instances"},
		{`{"instances":[]}`, "no instances"},
		{`{"instances":{"x":1}}`, `must be an array of instances`},
		{`[1]`, "not a JSON object"},
		{`{"instances":[1}`, "not valid JSON"},
		{`{"rows":[1]}`, `no \"instances\"`},
		{``, "empty"},
	} {
		st, got, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", c.body)
		if err != nil || st != 400 || !strings.Contains(got, c.want) {
			t.Errorf("%q: %d %s %v, want 400 with %q", c.body, st, got, err, c.want)
		}
	}
	if len(up.received) != 0 {
		t.Fatalf("the upstream received %d bad requests", len(up.received))
	}
	if w := e.observe(); w.Stable.Errors != 0 {
		t.Fatalf("bad requests counted as errors: %+v", w.Stable)
	}
	// "inputs" serves when "instances" is absent, as on the decoding path
	if st, got, _ := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", `{"inputs":[7]}`); st != 200 || got != `{"predictions":[1]}` {
		t.Fatalf(`"inputs": %d %s`, st, got)
	}
}

// The gateway counts as an error exactly what its client got as one
// (a 5xx): not a bad request, not a client that went away; and a broken
// upstream answer is one. Both paths: passed through (V1 upstream) and
// translated (V2 upstream).
func TestUpstream_ErrorsCountedAsClientsSawThem(t *testing.T) {
	for _, proto := range []string{"v1", "v2"} {
		t.Run(proto, func(t *testing.T) {
			up := newScriptedUpstream(t, proto)
			e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
			url := e.ts.URL + "/v1/models/iris:predict"
			ok, two := `{"predictions":[1]}`, `{"predictions":[1,2]}`
			if proto == "v2" {
				ok = `{"outputs":[{"name":"predict","datatype":"FP64","shape":[1],"data":[1]}]}`
				two = `{"outputs":[{"name":"predict","datatype":"FP64","shape":[2],"data":[1,2]}]}`
			}
			steps := []struct {
				name           string
				status         int
				body           string
				client, errors int64 // the client's status, the error count after
			}{
				{"ok", 200, ok, 200, 0},
				{"upstream 500", 500, `{"error":"boom"}`, 500, 1},
				{"upstream 400", 400, `{"error":"x is missing"}`, 400, 1},
				{"two predictions for one instance", 200, two, 500, 2},
				{"not JSON", 200, `<html>`, 500, 3},
			}
			for i, s := range steps {
				up.respond(s.status, s.body)
				st, b, err := postTo(t, t.Context(), url, `{"instances":[{"x":1}]}`)
				if err != nil || int64(st) != s.client {
					t.Fatalf("%s: client got %d %s %v, want %d", s.name, st, b, err, s.client)
				}
				w := e.observe()
				if w.Stable.Requests != int64(i+1) || w.Stable.Errors != s.errors {
					t.Fatalf("%s: requests %d errors %d, want %d and %d", s.name, w.Stable.Requests, w.Stable.Errors, i+1, s.errors)
				}
			}
			clientGoesAway(t, e, up, url, len(steps))
		})
	}
}

// clientGoesAway cancels a request while the upstream works on it: the
// gateway records the request but no error, as its client saw none.
func clientGoesAway(t *testing.T, e *testEnv, up *scriptedUpstream, url string, before int) {
	t.Helper()
	release := make(chan struct{})
	defer close(release)
	up.setAnswer(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	for len(up.received) > 0 {
		<-up.received
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, _, err := postTo(t, ctx, url, `{"instances":[{"x":1}]}`); done <- err }()
	<-up.received
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled client: %v", err)
	}
	errsBefore := e.observe().Stable.Errors
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := e.observe()
		if w.Stable.Requests == int64(before+1) {
			if w.Stable.Errors != errsBefore {
				t.Fatalf("a client that went away counted as an error: %+v", w.Stable)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled request was never recorded: %+v", w.Stable)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A request that outlives the gateway's RequestTimeout is a 504 the client
// sees, so it counts as an error.
func TestPassThrough_TimeoutIsAnError(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	release := make(chan struct{})
	defer close(release)
	up.setAnswer(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	e := servedBy(t, func(o *gateway.Options) { o.RequestTimeout = 100 * time.Millisecond }, map[string]*scriptedUpstream{"1": up})
	st, b, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", `{"instances":[1]}`)
	if err != nil || st != http.StatusGatewayTimeout {
		t.Fatalf("slow upstream: %d %s %v", st, b, err)
	}
	if w := e.observe(); w.Stable.Requests != 1 || w.Stable.Errors != 1 {
		t.Fatalf("timeout figures %+v", w.Stable)
	}
}

// Concurrent requests reuse the upstream connections: about one per
// client in flight, not one per request.
func TestUpstream_ReusesConnections(t *testing.T) {
	for _, proto := range []string{"v1", "v2"} {
		t.Run(proto, func(t *testing.T) {
			up := newScriptedUpstream(t, proto)
			up.setAnswer(func(w http.ResponseWriter, _ *http.Request, body []byte) {
				if proto == "v1" {
					_, _ = w.Write([]byte(`{"predictions":[1]}`))
					return
				}
				_, _ = w.Write([]byte(`{"outputs":[{"name":"predict","datatype":"FP64","shape":[1],"data":[1]}]}`))
			})
			e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
			go func() {
				for range up.received {
				}
			}()
			const clients, each = 16, 25
			var wg sync.WaitGroup
			var failed atomic.Int64
			for range clients {
				wg.Go(func() {
					for range each {
						if st, _, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", `{"instances":[{"x":1}]}`); err != nil || st != 200 {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if failed.Load() > 0 {
				t.Fatalf("%d requests failed", failed.Load())
			}
			// about one per client in flight, plus the probes' and a few
			// dialled while a finished request's connection was on its
			// way back to the pool; net/http's default of 2 idle
			// connections per host dials over a hundred here
			if n := up.conns.Load(); n > 2*clients {
				t.Fatalf("%d connections to the upstream for %d requests from %d clients", n, clients*each, clients)
			}
		})
	}
}

// A stable request passed through is mirrored to the canary with its
// instances decoded, paired with the stable answer.
func TestPassThrough_Mirror(t *testing.T) {
	stable, canary := newScriptedUpstream(t, "v1"), newScriptedUpstream(t, "v1")
	stable.respond(200, `{"predictions":[2,4]}`)
	canary.setAnswer(func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var req struct{ Instances []map[string]float64 }
		if json.Unmarshal(body, &req) != nil || len(req.Instances) != 2 || req.Instances[1]["x"] != 2 {
			w.WriteHeader(400)
			return
		}
		_, _ = w.Write([]byte(`{"predictions":[2,5]}`))
	})
	e := servedBy(t, nil, map[string]*scriptedUpstream{"1": stable, "2": canary})
	e.dep.MirrorPercent = 100
	e.mustStartCanary("2", 1)
	// through the handler itself: its work after the answer is done when call returns
	r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances":[{"x":1},{"x":2}]}`, keyFor(t, false, 1))
	if r.Status != 200 || r.Body != `{"predictions":[2,4]}` {
		t.Fatalf("stable answer: %+v", r)
	}
	e.waitMirrors()
	w := e.observe()
	if p := w.Canary.Paired; p == nil || p.Count != 2 || p.SumDiff != 1 || w.Canary.Requests != 0 {
		t.Fatalf("canary figures %+v paired %+v", w.Canary, w.Canary.Paired)
	}
}

// An upstream answer that is not one finite number per instance is a 500,
// whichever way it is broken.
func TestPassThrough_BrokenPredictions(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
	broken := []string{`{"predictions":[null]}`, `{"predictions":[NaN]}`, `{"predictions":[Infinity]}`,
		`{"predictions":["1"]}`, `{"predictions":[[1]]}`, `{"predictions":null}`, `{"outputs":[1]}`}
	for i, answer := range broken {
		up.respond(200, answer)
		st, b, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", `{"instances":[1]}`)
		if err != nil || st != 500 {
			t.Errorf("upstream answered %s: client got %d %s %v, want 500", answer, st, b, err)
		}
		if w := e.observe(); w.Stable.Errors != int64(i+1) {
			t.Errorf("after %s: %d errors, want %d", answer, w.Stable.Errors, i+1)
		}
	}
}

// A V2 request to a V2 upstream reaches it byte for byte; the client's
// answer is the gateway's own, naming its model and version; bad tensors
// stay home.
func TestPassThrough_V2(t *testing.T) {
	up := newScriptedUpstream(t, "v2")
	up.respond(200, `{"model_name":"m","model_version":"upstream","outputs":[{"name":"predict","datatype":"FP64","shape":[2],"data":[3,4]}]}`)
	e := servedBy(t, func(o *gateway.Options) { o.MaxInstances = 2 }, map[string]*scriptedUpstream{"1": up})
	url := e.ts.URL + "/v2/models/iris/infer"
	body := `{"id":"r-1", "inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[1.50,2]}]}`
	st, got, err := postTo(t, t.Context(), url, body)
	if err != nil || st != 200 {
		t.Fatalf("answer: %d %s %v", st, got, err)
	}
	var ans struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string
		Outputs      []struct{ Data []float64 }
	}
	if err := json.Unmarshal([]byte(got), &ans); err != nil || ans.ModelName != "iris" || ans.ModelVersion != "1" || ans.ID != "r-1" ||
		len(ans.Outputs) != 1 || len(ans.Outputs[0].Data) != 2 || ans.Outputs[0].Data[1] != 4 {
		t.Fatalf("answer %s: %v", got, err)
	}
	if up.lastBody() != body {
		t.Fatalf("upstream received %q, the client sent %q", up.lastBody(), body)
	}
	for _, bad := range []string{
		`{"inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`,
		`{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":["a"]}]}`,
		`{"inputs":[]}`, ``,
	} {
		if st, got, _ := postTo(t, t.Context(), url, bad); st != 400 {
			t.Errorf("%q: %d %s, want 400", bad, st, got)
		}
	}
	if n := len(up.received); n != 1 {
		t.Fatalf("the upstream received %d requests, want the good one only", n)
	}
	if w := e.observe(); w.Stable.Requests != 5 || w.Stable.Errors != 0 || w.Stable.Predictions.Count != 2 {
		t.Fatalf("stable figures %+v", w.Stable)
	}
}

// servedUpstream serves version "1" through up with the data plane's own
// server (Serve, so h1Server takes plain requests) and returns the
// prediction URL.
func servedUpstream(t *testing.T, up *scriptedUpstream, edit func(*gateway.Options)) (*testEnv, string) {
	e := newTestEnv(t, func(o *gateway.Options) {
		o.AdminToken = testToken
		o.DeploymentLoader = func(d modelgate.Deployment) (gateway.Model, error) {
			return gateway.StartUpstream(t.Context(), gateway.UpstreamSpec{URL: up.URL, Protocol: up.protocol, Name: "m"}, d)
		}
		if edit != nil {
			edit(o)
		}
	})
	ep := gateway.Endpoints{URL: e.ts.URL, AdminToken: testToken}
	e.dep, e.metrics = gateway.NewDeployerFor(ep), gateway.NewMetricsSourceFor(ep)
	e.mustSetStable("1")
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return e, "http://" + serveOn(t, e.srv, admin).String() + "/v1/models/iris:predict"
}

// A client that leaves while the upstream works ends the upstream request
// on the data plane's own server too (h1Server, where the request's
// upstream connection is guarded by its connection's context): the
// upstream sees its request end and the gateway counts no error.
func TestPassThrough_ClientLeavesServed(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	up.respond(200, `{"predictions":[1]}`)
	e, url := servedUpstream(t, up, nil)
	if st, got, err := postTo(t, t.Context(), url, `{"instances":[{"x":1}]}`); err != nil || st != 200 || got != `{"predictions":[1]}` {
		t.Fatalf("answer: %d %q %v", st, got, err)
	}
	<-up.received
	clientGoesAway(t, e, up, url, 1)
	// the connection the upstream request was interrupted on is not reused
	up.respond(200, `{"predictions":[2]}`)
	if st, got, err := postTo(t, t.Context(), url, `{"instances":[{"x":1}]}`); err != nil || st != 200 || got != `{"predictions":[2]}` {
		t.Fatalf("after the client left: %d %q %v", st, got, err)
	}
}

// Bodies h1Server read whole are held to the same limits as any other:
// too large is 413, blank is 400, and neither reaches the upstream.
func TestPassThrough_BodyLimitsServed(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	up.respond(200, `{"predictions":[1]}`)
	_, url := servedUpstream(t, up, func(o *gateway.Options) { o.MaxBodyBytes = 30 })
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"instances":[{"x":1}]}`, 200, `{"predictions":[1]}`},
		{`{"instances":[{"x":1, "y": 2.5}]}`, 413, "30 bytes"},
		{"  \n ", 400, "empty"},
	} {
		st, got, err := postTo(t, t.Context(), url, c.body)
		if err != nil || st != c.status || !strings.Contains(got, c.want) {
			t.Errorf("%q: %d %s %v, want %d with %q", c.body, st, got, err, c.status, c.want)
		}
	}
	if n := len(up.received); n != 1 {
		t.Fatalf("the upstream received %d requests, want 1", n)
	}
}
