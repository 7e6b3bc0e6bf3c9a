package gateway_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate/gateway"
)

// seeded returns an Options edit installing a seeded random source.
func seeded(seed uint64) func(*gateway.Options) {
	return func(o *gateway.Options) { o.Rand = seededRand(seed) }
}

func seededRand(seed uint64) func() float64 { return rand.New(rand.NewPCG(seed, seed)).Float64 }

// versions sends n V1 requests and returns the answering versions in order.
func (e *testEnv) versions(n int, header func(i int) http.Header) []string {
	e.t.Helper()
	out := make([]string, n)
	for i := range n {
		var h http.Header
		if header != nil {
			h = header(i)
		}
		r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1, 2]]}`, h)
		if r.Status != 200 {
			e.t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		out[i] = r.Version
	}
	return out
}

func count(vs []string, v string) int {
	n := 0
	for _, x := range vs {
		if x == v {
			n++
		}
	}
	return n
}

func TestSplit_Proportion(t *testing.T) {
	const n = 10000
	run := func() []string {
		e := newTestEnv(t, seeded(7))
		e.register("1", 1)
		e.register("2", 2)
		e.mustSetStable("1")
		e.mustStartCanary("2", 10)
		vs := e.versions(n, nil)

		w, err := e.metrics.Observe(t.Context(), "iris")
		if err != nil {
			t.Fatal(err)
		}
		if w.Canary.Requests != int64(count(vs, "2")) || w.Stable.Requests != int64(count(vs, "1")) {
			t.Errorf("observed %d/%d requests, answers say %d/%d",
				w.Stable.Requests, w.Canary.Requests, count(vs, "1"), count(vs, "2"))
		}
		return vs
	}
	first := run()
	// 10% of 10k: the standard deviation is 30, allow 4 of them.
	if c := count(first, "2"); c < 880 || c > 1120 {
		t.Errorf("canary took %d of %d requests, want about 1000", c, n)
	}
	if diff := cmp.Diff(first, run()); diff != "" {
		t.Errorf("the same seed gave another split (-first +second):\n%s", diff)
	}
}

func TestSplit_Sticky(t *testing.T) {
	e := newTestEnv(t, seeded(1))
	e.register("1", 1)
	e.register("2", 2)
	e.mustSetStable("1")
	e.mustStartCanary("2", 10)

	const keys = 2000
	key := func(i int) http.Header {
		return http.Header{gateway.HeaderRequestKey: {fmt.Sprintf("user-%d", i%keys)}}
	}
	vs := e.versions(3*keys, key)
	canary := 0
	for i := range keys {
		want := "1"
		if gateway.StickyBucket(fmt.Sprintf("user-%d", i)) < 10 {
			want = "2"
			canary++
		}
		for _, got := range []string{vs[i], vs[i+keys], vs[i+2*keys]} {
			if got != want {
				t.Fatalf("key user-%d answered by %s, want %s every time", i, got, want)
			}
		}
	}
	if canary < 150 || canary > 250 {
		t.Errorf("%d of %d keys go to the canary, want about 200", canary, keys)
	}
}

func TestStickyBucket(t *testing.T) {
	// FNV-1a 32 of "a" is 0xe40c292c = 3826002220.
	if got, want := gateway.StickyBucket("a"), 3826002220%100; got != want {
		t.Errorf("StickyBucket(a) = %d, want %d", got, want)
	}
}
