package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// The test binary doubles as an external model server: with
// GATEWAY_FAKE_UPSTREAM=<mode> TestFakeUpstreamProcess serves on the port
// in GATEWAY_FAKE_PORT, predicting 2*x over V1 and V2. Mode "crash" exits
// at the first prediction; "fail" exits at once.
func TestFakeUpstreamProcess(t *testing.T) {
	mode := os.Getenv("GATEWAY_FAKE_UPSTREAM")
	if mode == "" {
		t.Skip("helper process for the upstream tests")
	}
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "cannot load the model: no such file")
		os.Exit(3)
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ready":true}`)) }
	mux.HandleFunc("GET /v1/models/m", ok)
	mux.HandleFunc("GET /v2/models/m/ready", ok)
	mux.HandleFunc("GET /v2/models/m", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"name":"m","inputs":[{"name":"x","datatype":"FP64","shape":[-1]}],"outputs":[{"name":"predict","datatype":"FP64","shape":[-1]}]}`))
	})
	mux.HandleFunc("POST /v1/models/m:predict", func(w http.ResponseWriter, r *http.Request) {
		if mode == "crash" {
			fmt.Fprintln(os.Stderr, "segfault in predict")
			os.Exit(2)
		}
		var req struct{ Instances []map[string]any }
		_ = json.NewDecoder(r.Body).Decode(&req)
		preds := []float64{}
		for _, in := range req.Instances {
			x, ok := in["x"].(float64)
			if !ok {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`{"error":"x is missing"}`))
				return
			}
			preds = append(preds, 2*x)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds})
	})
	mux.HandleFunc("POST /v2/models/m/infer", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Inputs []struct {
				Name string
				Data []float64
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		var preds []float64
		for _, in := range req.Inputs {
			if in.Name == "x" {
				for _, x := range in.Data {
					preds = append(preds, 2*x)
				}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"model_name": "m", "outputs": []any{
			map[string]any{"name": "predict", "datatype": "FP64", "shape": []int{len(preds)}, "data": preds}}})
	})
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("GATEWAY_FAKE_PORT"))
	if err != nil {
		os.Exit(4)
	}
	_ = http.Serve(l, mux)
	os.Exit(0)
}

// fakeUpstream is the spec starting the helper process in mode.
func fakeUpstream(mode, protocol string) gateway.UpstreamSpec {
	return gateway.UpstreamSpec{
		Command:  []string{"/usr/bin/env", "GATEWAY_FAKE_PORT={port}", os.Args[0], "-test.run=^TestFakeUpstreamProcess$"},
		Env:      []string{"GATEWAY_FAKE_UPSTREAM=" + mode},
		Protocol: protocol, Name: "m", ReadyTimeout: 20 * time.Second,
	}
}

// upstreamGateway serves every deployment through an upstream made by spec
// and records them.
func upstreamGateway(t *testing.T, spec func(d modelgate.Deployment) gateway.UpstreamSpec) (*gateway.Server, string, *[]*gateway.Upstream) {
	t.Helper()
	var started []*gateway.Upstream
	srv := mustOpenServer(t, gateway.Options{DirDigest: fakeDigest, DeploymentLoader: func(d modelgate.Deployment) (gateway.Model, error) {
		u, err := gateway.StartUpstream(context.Background(), spec(d), d)
		if err == nil {
			started = append(started, u)
		}
		return u, err
	}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	return srv, hs.URL, &started
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, jsonBody(resp))
	return resp.StatusCode, b.String()
}

func jsonBody(resp *http.Response) string {
	var v any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestUpstream_ProcessLifecycleAndProxy(t *testing.T) {
	for _, proto := range []string{"v1", "v2"} {
		t.Run(proto, func(t *testing.T) {
			srv, base, started := upstreamGateway(t, func(modelgate.Deployment) gateway.UpstreamSpec { return fakeUpstream("ok", proto) })
			d := gateway.NewDeployer(base, nil)
			ctx := context.Background()
			if _, err := d.DeployStaging(ctx, deployment("1"), 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if st, b := post(t, base+"/staging/v1/models/iris:predict", `{"instances":[{"x":1.5},{"x":2}]}`); st != 200 || b != `{"predictions":[3,4]}` {
				t.Fatalf("staging V1: %d %s", st, b)
			}
			if st, b := post(t, base+"/staging/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[5]}]}`); st != 200 || !strings.Contains(b, `"data":[10]`) {
				t.Fatalf("staging V2: %d %s", st, b)
			}
			// production, measured per revision like a native model
			if err := d.SetStable(ctx, deployment("1")); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if st, b := post(t, base+"/v1/models/iris:predict", `{"instances":[{"x":1}]}`); st != 200 {
					t.Fatalf("production: %d %s", st, b)
				}
			}
			if proto == "v1" {
				if st, b := post(t, base+"/v1/models/iris:predict", `{"instances":[{"y":1}]}`); st != 400 || !strings.Contains(b, "x is missing") {
					t.Fatalf("bad instance: %d %s", st, b)
				}
			}
			w, err := gateway.NewMetricsSource(base, nil).Observe(ctx, "iris")
			if err != nil {
				t.Fatal(err)
			}
			if w.Stable.Requests < 3 || w.Stable.Predictions.Count != 3 || w.Stable.Predictions.Mean() != 2 || w.Stable.Errors != 0 {
				t.Fatalf("stable stats %+v", w.Stable)
			}
			if len(*started) != 1 {
				t.Fatalf("started %d upstreams for one deployment served in staging and production", len(*started))
			}
			// replacing staging and production stops the old server
			if _, err := d.DeployStaging(ctx, deployment("2"), 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := d.SetStable(ctx, deployment("2")); err != nil {
				t.Fatal(err)
			}
			first := (*started)[0]
			if err := first.Healthy(ctx); err == nil {
				t.Fatal("the upstream of version 1 still runs after nothing serves it")
			}
			_ = srv.Close()
			if err := (*started)[1].Healthy(ctx); err == nil {
				t.Fatal("the upstream of version 2 still runs after Close")
			}
		})
	}
}

func TestUpstream_CrashAnswers500(t *testing.T) {
	_, base, _ := upstreamGateway(t, func(modelgate.Deployment) gateway.UpstreamSpec { return fakeUpstream("crash", "v1") })
	d := gateway.NewDeployer(base, nil)
	if _, err := d.DeployStaging(context.Background(), deployment("1"), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st, b := post(t, base+"/staging/v1/models/iris:predict", `{"instances":[{"x":1}]}`)
	if st != 500 {
		t.Fatalf("first request to a crashing upstream: %d %s", st, b)
	}
	time.Sleep(200 * time.Millisecond)
	st, b = post(t, base+"/staging/v1/models/iris:predict", `{"instances":[{"x":1}]}`)
	if st != 500 || !strings.Contains(b, "exited") || !strings.Contains(b, "segfault in predict") {
		t.Fatalf("after the crash: %d %s", st, b)
	}
}

func TestUpstream_FailingCommand(t *testing.T) {
	_, err := gateway.StartUpstream(context.Background(), fakeUpstream("fail", "v2"), deployment("1"))
	if modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE || !strings.Contains(err.Error(), "cannot load the model") {
		t.Fatalf("err = %v", err)
	}
	_, err = gateway.StartUpstream(context.Background(), gateway.UpstreamSpec{}, deployment("1"))
	if modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Fatalf("empty spec: %v", err)
	}
}

func TestUpstream_URL(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"name":"m","ready":true}`))
			return
		}
		_, _ = w.Write([]byte(`{"predictions":[7]}`))
	}))
	defer up.Close()
	_, base, _ := upstreamGateway(t, func(modelgate.Deployment) gateway.UpstreamSpec {
		return gateway.UpstreamSpec{URL: up.URL, Protocol: "v1", Name: "m"}
	})
	if _, err := gateway.NewDeployer(base, nil).DeployStaging(context.Background(), deployment("1"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, b := post(t, base+"/staging/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[5]}]}`); st != 200 || !strings.Contains(b, `"data":[7]`) {
		t.Fatalf("V2 through a V1 upstream: %d %s", st, b)
	}
}
