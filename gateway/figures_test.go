package gateway_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// restartable opens gateways on one state file, all loading through the
// first one's models.
type restartable struct {
	t     *testing.T
	path  string
	first *testEnv
}

func newRestartable(t *testing.T, interval time.Duration) *restartable {
	r := &restartable{t: t, path: filepath.Join(t.TempDir(), "gateway.json")}
	r.first = r.open(interval)
	return r
}

func (r *restartable) open(interval time.Duration) *testEnv {
	return newTestEnv(r.t, func(o *gateway.Options) {
		o.StatePath, o.SnapshotInterval, o.Rand = r.path, interval, seededRand(5)
		if r.first != nil {
			o.Loader = r.first.load
		}
	})
}

// send sends n two-row requests to production.
func (e *testEnv) send(n int) {
	e.t.Helper()
	for range n {
		if r := e.call("POST", "/v1/models/iris:predict", `{"instances": [[4, 1], [6, 2]]}`, nil); r.Status != 200 {
			e.t.Fatalf("request: %+v", r)
		}
	}
	e.waitMirrors()
}

// A gateway that stops abruptly and starts again serves the same split with
// the same window and at least every figure it had reported: an /observe
// answer is saved before it is sent.
func TestMeasurements_SurviveRestart(t *testing.T) {
	r := newRestartable(t, -1)
	e := r.first
	e.register("1", 1)
	e.register("2", 2)
	e.mustSetStable("1")
	e.dep.MirrorPercent = 50
	e.mustStartCanary("2", 20)
	start := e.clock.Now()
	e.send(300)
	e.clock.Advance(time.Minute)
	seen := e.observe()
	if seen.Canary.Requests == 0 || seen.Canary.Paired == nil || seen.Canary.Paired.Count == 0 {
		t.Fatalf("nothing measured: %+v", seen)
	}
	e.send(40) // answered, never observed, lost in the crash below

	// Crash: a second gateway opens the file the first one left.
	e2 := r.open(-1)
	got := e2.observe()
	if diff := cmp.Diff(seen.Stable, got.Stable); diff != "" {
		t.Errorf("stable figures after the restart (-reported +restored):\n%s", diff)
	}
	if diff := cmp.Diff(seen.Canary, got.Canary); diff != "" {
		t.Errorf("canary figures after the restart (-reported +restored):\n%s", diff)
	}
	if !got.Start.Equal(start) {
		t.Errorf("window start %v after the restart, want %v", got.Start, start)
	}
	st, err := e2.dep.Status(t.Context(), "iris")
	if err != nil || st.Restored == nil || !st.Restored.SavedAt.Equal(seen.End) || st.Mirror == nil || st.Mirror.Pairs != seen.Canary.Paired.Count {
		t.Errorf("status after the restart: %+v %+v (%v)", st.Restored, st.Mirror, err)
	}

	// Figures keep accumulating, and a graceful stop saves all of them.
	e2.send(100)
	before := e2.observe()
	e2.send(25)
	e2.srv.Close()
	after := r.open(-1).observe()
	if n := after.Stable.Requests + after.Canary.Requests; n != before.Stable.Requests+before.Canary.Requests+25 {
		t.Errorf("after a graceful restart: %d requests, want %d", n, before.Stable.Requests+before.Canary.Requests+25)
	}
	if after.Stable.LatencyMS.Count != after.Stable.Requests || after.Canary.Predictions.Count != 2*after.Canary.Requests {
		t.Errorf("restored sketches disagree with the counts: %+v", after)
	}
}

// While requests keep coming the figures are saved every SnapshotInterval,
// without anyone observing.
func TestMeasurements_PeriodicSnapshot(t *testing.T) {
	r := newRestartable(t, 5*time.Millisecond)
	e := r.first
	e.register("1", 1)
	e.mustSetStable("1")
	e.send(7)
	deadline := time.Now().Add(2 * time.Second)
	for {
		var st struct {
			Models map[string]struct {
				Figures *struct{ Stable modelgate.RevisionStats }
			}
		}
		b, err := os.ReadFile(r.path)
		if err == nil && json.Unmarshal(b, &st) == nil {
			if f := st.Models["iris"].Figures; f != nil && f.Stable.Requests == 7 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state file does not hold the 7 requests after 2s:\n%s", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Observing (which saves the figures) does not wait for an admin change
// that is still loading a model: an external server may take minutes.
func TestMeasurements_ObserveDuringSlowLoad(t *testing.T) {
	r := newRestartable(t, -1)
	e := r.first
	e.register("1", 1)
	e.mustSetStable("1")
	loading, release := make(chan struct{}), make(chan struct{})
	e.srv.Close() // reopen with a loader that blocks on version 3
	e2 := newTestEnv(t, func(o *gateway.Options) {
		o.StatePath, o.SnapshotInterval = r.path, -1
		o.Loader = func(dir string) (gateway.Model, error) {
			if dir == "/models/3" {
				close(loading)
				<-release
			}
			return e.load(dir)
		}
	})
	e.register("3", 1)
	done := make(chan error, 1)
	go func() { _, err := e2.dep.DeployStaging(t.Context(), deployment("3"), time.Second); done <- err }()
	<-loading
	observed := make(chan error, 1)
	go func() { _, err := e2.metrics.Observe(t.Context(), "iris"); observed <- err }()
	select {
	case err := <-observed:
		if err != nil {
			t.Errorf("Observe during a load: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Observe waited for a model being loaded")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
