package mlflow_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlflow"
)

// flow is the registry side of a promotion, as the engine drives it, in one
// of the two modes. It is the seam the engine's alias mode needs (see the
// report for issue 3): verify reads and downloads only; promote, fail and
// revert write.
type flow struct {
	r     *mlflow.Registry
	mode  string // "stage" or "alias"
	model string
	cache string // artifact cache, keyed by digest
	// aliases (alias mode)
	challenger, champion, previous string
}

func newFlow(t *testing.T, r *mlflow.Registry, mode, model string) *flow {
	return &flow{r: r, mode: mode, model: model, cache: t.TempDir(),
		challenger: "challenger", champion: "champion", previous: "previous"}
}

// verified is what verify established.
type verified struct {
	Previous string
	Dir      string
	Digest   string
	Metrics  map[string]float64
}

// verify is the registry part of the preconditions and playbook step 1: the
// candidate is the candidate (Staging, or carries the challenger alias), has
// the required tags and a digest, there is exactly one production version,
// and the downloaded artifact (signature checked by the Registry) has the
// tag's digest.
func (f *flow) verify(ctx context.Context, version string) (*verified, error) {
	mv, err := f.r.GetVersion(ctx, f.model, version)
	if err != nil {
		return nil, err
	}
	var problems []string
	switch f.mode {
	case "stage":
		if mv.Stage != modelgate.StageStaging {
			problems = append(problems, fmt.Sprintf("version %s is in stage %s, not Staging", version, mv.Stage))
		}
	case "alias":
		if !contains(mv.Aliases, f.challenger) {
			problems = append(problems, fmt.Sprintf("version %s does not carry the alias @%s", version, f.challenger))
		}
	}
	for _, tag := range append(modelgate.RequiredTags, modelgate.TagModelSHA256) {
		if strings.TrimSpace(mv.Tags[tag]) == "" {
			problems = append(problems, fmt.Sprintf("version %s lacks the tag %s", version, tag))
		}
	}
	prev, err := f.production(ctx, version)
	if err != nil {
		problems = append(problems, modelgate.ErrorMessage(err))
	}
	if len(problems) > 0 {
		return nil, modelgate.Errorf(modelgate.EPRECONDITION, "cannot promote %s version %s: %s", f.model, version, strings.Join(problems, "; "))
	}
	want := mv.Tags[modelgate.TagModelSHA256]
	cached := filepath.Join(f.cache, "sha256", want)
	if d, err := modelgate.DirDigest(cached); err != nil || d != want {
		tmp := filepath.Join(f.cache, fmt.Sprintf("download-%d", rand.Int64()))
		defer os.RemoveAll(tmp)
		dir, err := f.r.DownloadArtifacts(ctx, f.model, version, filepath.Join(tmp, "model"))
		if err != nil {
			return nil, err
		}
		got, err := modelgate.DirDigest(dir)
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, modelgate.Errorf(modelgate.EINVALID, "artifact of %s/%s does not match its model_sha256 tag: tag says %s, downloaded files give %s", f.model, version, want, got)
		}
		_ = os.MkdirAll(filepath.Dir(cached), 0o755)
		if err := os.Rename(dir, cached); err != nil {
			return nil, err
		}
	}
	m, err := f.r.VersionMetrics(ctx, f.model, version)
	if err != nil {
		return nil, err
	}
	return &verified{Previous: prev, Dir: cached, Digest: want, Metrics: m}, nil
}

// production returns the version production serves by the registry's word.
func (f *flow) production(ctx context.Context, candidate string) (string, error) {
	if f.mode == "alias" {
		mv, err := f.r.GetVersionByAlias(ctx, f.model, f.champion)
		if err != nil {
			return "", err
		}
		return mv.Version, nil
	}
	versions, err := f.r.ListVersions(ctx, f.model)
	if err != nil {
		return "", err
	}
	var prod []string
	for _, v := range versions {
		if v.Stage == modelgate.StageProduction && v.Version != candidate {
			prod = append(prod, v.Version)
		}
	}
	if len(prod) != 1 {
		return "", modelgate.Errorf(modelgate.EPRECONDITION, "%d versions are in Production, want exactly one", len(prod))
	}
	return prod[0], nil
}

// promote is the registry part of step 7.
func (f *flow) promote(ctx context.Context, version, prev, promotionID string) error {
	switch f.mode {
	case "stage":
		if _, err := f.r.TransitionStage(ctx, f.model, version, modelgate.StageProduction, true); err != nil {
			return err
		}
	case "alias":
		for _, step := range []func() error{
			func() error { return f.r.SetAlias(ctx, f.model, f.previous, prev) },
			func() error { return f.r.SetAlias(ctx, f.model, f.champion, version) },
			func() error { return f.r.DeleteAlias(ctx, f.model, f.challenger) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
	}
	return f.tag(ctx, version, modelgate.OutcomePromoted, promotionID)
}

// fail is the registry part of the rollback path after a failed canary:
// production never moved in the registry.
func (f *flow) fail(ctx context.Context, version, promotionID string) error {
	switch f.mode {
	case "stage":
		if _, err := f.r.TransitionStage(ctx, f.model, version, modelgate.StageArchived, false); err != nil {
			return err
		}
	case "alias":
		if err := f.r.DeleteAlias(ctx, f.model, f.challenger); err != nil {
			return err
		}
	}
	return f.tag(ctx, version, modelgate.OutcomeRolledBack, promotionID)
}

// revert undoes a finished promotion (`modelgate rollback MODEL`): the
// previous version is production again, the reverted one is marked.
func (f *flow) revert(ctx context.Context, version, prev, promotionID string) error {
	switch f.mode {
	case "stage":
		if _, err := f.r.TransitionStage(ctx, f.model, prev, modelgate.StageProduction, false); err != nil {
			return err
		}
		if _, err := f.r.TransitionStage(ctx, f.model, version, modelgate.StageArchived, false); err != nil {
			return err
		}
	case "alias":
		if err := f.r.SetAlias(ctx, f.model, f.champion, prev); err != nil {
			return err
		}
		if err := f.r.DeleteAlias(ctx, f.model, f.previous); err != nil {
			return err
		}
	}
	return f.tag(ctx, version, modelgate.OutcomeFailed, promotionID)
}

func (f *flow) tag(ctx context.Context, version string, o modelgate.Outcome, promotionID string) error {
	tags := [][2]string{{"modelgate.outcome", string(o)}, {"modelgate.promotion_id", promotionID}}
	if o == modelgate.OutcomePromoted {
		tags = append(tags, [2]string{"modelgate.promoted_at", time.Now().UTC().Format(time.RFC3339)})
	}
	for _, kv := range tags {
		if err := f.r.SetVersionTag(ctx, f.model, version, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// registration is what register_example.py reports.
type registration struct {
	Versions map[string]struct {
		Source  string             `json:"source"`
		ModelID string             `json:"model_id"`
		Digest  string             `json:"digest"`
		Metrics map[string]float64 `json:"metrics"`
	} `json:"versions"`
}

// registerExample registers the demand-forecast example with MLflow's own
// Python client (see testdata/register_example.py).
func registerExample(t *testing.T, s *server, mode, privateKey string) (string, registration) {
	t.Helper()
	name := fmt.Sprintf("demand-forecast-%s-%08x", mode, rand.Uint32())
	example, err := filepath.Abs("../examples/demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"testdata/register_example.py", name, mode, example}
	if privateKey != "" {
		args = append(args, privateKey)
	}
	out := strings.TrimSpace(python(t, s, nil, args...))
	var reg registration
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &reg); err != nil {
		t.Fatalf("register_example.py output: %v\n%s", err, out)
	}
	return name, reg
}

// mlflowState is the model as MLflow's own Python client reads it.
type mlflowState struct {
	Aliases  map[string]string `json:"aliases"`
	Versions map[string]struct {
		Stage   string            `json:"stage"`
		Aliases []string          `json:"aliases"`
		Tags    map[string]string `json:"tags"`
	} `json:"versions"`
}

func readState(t *testing.T, s *server, name string) mlflowState {
	t.Helper()
	out := strings.TrimSpace(python(t, s, nil, "testdata/state.py", name))
	var st mlflowState
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &st); err != nil {
		t.Fatalf("state.py output: %v\n%s", err, out)
	}
	return st
}

// snapshot is everything a failed attempt must leave alone, timestamps
// included, read through the REST API.
func snapshot(t *testing.T, r *mlflow.Registry, name string) []*modelgate.ModelVersion {
	t.Helper()
	vs, err := r.ListVersions(t.Context(), name)
	if err != nil && modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("ListVersions(%s): %v", name, err)
	}
	return vs
}

// wantRefused runs verify and checks that it fails with code and message,
// and that MLflow holds exactly what it held before.
func wantRefused(t *testing.T, f *flow, version, code, msg string) {
	t.Helper()
	before := snapshot(t, f.r, f.model)
	_, err := f.verify(t.Context(), version)
	if got := modelgate.ErrorCode(err); got != code {
		t.Errorf("verify(%s): error %v (code %q), want %s", version, err, got, code)
	} else if !strings.Contains(modelgate.ErrorMessage(err), msg) {
		t.Errorf("verify(%s): message %q, want it to contain %q", version, modelgate.ErrorMessage(err), msg)
	}
	if diff := cmp.Diff(before, snapshot(t, f.r, f.model)); diff != "" {
		t.Errorf("a refused verify(%s) changed MLflow (-before +after):\n%s", version, diff)
	}
}

// TestPromotionSequence_Stage drives the registry side of a promotion in
// stage mode against a real server, on the example registered by MLflow's
// Python client (3.x logged-model layout) and signed with model_signing:
// refusals first, then v2 promoted, v3 rolled back, v2 reverted.
func TestPromotionSequence_Stage(t *testing.T) {
	t.Parallel()
	s := mustServer(t)
	private, public := keyPair(t, elliptic.P256())
	_, otherPublic := keyPair(t, elliptic.P256())
	name, reg := registerExample(t, s, "stage", private)
	r := mustRegistry(t, s, func(o *mlflow.Options) { o.PublicKeys, o.RequireSignature = []string{public}, true })
	f := newFlow(t, r, "stage", name)
	ctx := t.Context()

	t.Run("refusals", func(t *testing.T) {
		wantRefused(t, &flow{r: r, mode: "stage", model: name + "-unknown", cache: t.TempDir()}, "2", modelgate.ENOTFOUND, "not found")
		wantRefused(t, f, "99", modelgate.ENOTFOUND, "not found")
		wantRefused(t, f, "1", modelgate.EPRECONDITION, "not Staging")

		mustDo(t, r.DeleteVersionTag(ctx, name, "3", modelgate.TagApprover))
		wantRefused(t, f, "3", modelgate.EPRECONDITION, "lacks the tag approver")
		mustDo(t, r.SetVersionTag(ctx, name, "3", modelgate.TagApprover, "priya.raman"))

		mustDo(t, r.SetVersionTag(ctx, name, "3", modelgate.TagModelSHA256, strings.Repeat("0", 64)))
		wantRefused(t, f, "3", modelgate.EINVALID, "does not match its model_sha256 tag")
		mustDo(t, r.SetVersionTag(ctx, name, "3", modelgate.TagModelSHA256, reg.Versions["3"].Digest))

		restore := tamper(t, s, reg.Versions["3"].ModelID, "model.lgb")
		wantRefused(t, f, "3", modelgate.EINVALID, "model.lgb does not match its signed digest")
		restore()

		wrongKey := newFlow(t, mustRegistry(t, s, func(o *mlflow.Options) { o.PublicKeys = []string{otherPublic} }), "stage", name)
		wantRefused(t, wrongKey, "2", modelgate.EINVALID, "key that is not configured")

		down := newFlow(t, mustRegistry(t, &server{URI: closedPort(t)}, func(o *mlflow.Options) { o.Retries = 2 }), "stage", name)
		_, err := down.verify(ctx, "2")
		wantCodeT(t, "verify with the server unreachable", err, modelgate.EUNAVAILABLE)
	})

	start := r.Stats()
	began := time.Now()
	v, err := f.verify(ctx, "2")
	if err != nil {
		t.Fatalf("verify(2): %v", err)
	}
	if v.Previous != "1" || v.Digest != reg.Versions["2"].Digest {
		t.Errorf("verify(2) = previous %s digest %s; want 1 and %s", v.Previous, v.Digest, reg.Versions["2"].Digest)
	}
	wantMetrics(t, reg.Versions["2"].Metrics, v.Metrics)
	if _, err := os.Stat(filepath.Join(v.Dir, "MLmodel")); err != nil {
		t.Errorf("verified artifact has no MLmodel: %v", err)
	}
	mustDo(t, f.promote(ctx, "2", v.Previous, "promo-stage-2"))
	logCalls(t, "stage mode, verify + promote of v2", r.Stats(), start, time.Since(began))

	st := readState(t, s, name)
	wantStages(t, st, map[string]string{"1": "Archived", "2": "Production", "3": "Staging"})
	wantTag(t, st, "2", "modelgate.outcome", "promoted")
	wantTag(t, st, "2", "modelgate.promotion_id", "promo-stage-2")
	if st.Versions["2"].Tags["modelgate.promoted_at"] == "" {
		t.Errorf("version 2 has no modelgate.promoted_at tag")
	}

	if _, err := f.verify(ctx, "3"); err != nil {
		t.Fatalf("verify(3): %v", err)
	}
	mustDo(t, f.fail(ctx, "3", "promo-stage-3"))
	st = readState(t, s, name)
	wantStages(t, st, map[string]string{"1": "Archived", "2": "Production", "3": "Archived"})
	wantTag(t, st, "3", "modelgate.outcome", "rolled_back")

	mustDo(t, f.revert(ctx, "2", "1", "promo-stage-2"))
	wantStages(t, readState(t, s, name), map[string]string{"1": "Production", "2": "Archived", "3": "Archived"})
}

// TestPromotionSequence_Alias is the same in alias mode on an unsigned
// registration, with the signature switch showing that an unsigned
// artifact is refused when signatures are required.
func TestPromotionSequence_Alias(t *testing.T) {
	t.Parallel()
	s := mustServer(t)
	_, public := keyPair(t, elliptic.P256())
	name, reg := registerExample(t, s, "alias", "")
	r := mustRegistry(t, s, nil)
	f := newFlow(t, r, "alias", name)
	ctx := t.Context()

	t.Run("refusals", func(t *testing.T) {
		wantRefused(t, f, "3", modelgate.EPRECONDITION, "does not carry the alias @challenger")
		wantRefused(t, f, "1", modelgate.EPRECONDITION, "does not carry the alias @challenger")
		required := newFlow(t, mustRegistry(t, s, func(o *mlflow.Options) { o.PublicKeys, o.RequireSignature = []string{public}, true }), "alias", name)
		wantRefused(t, required, "2", modelgate.EINVALID, "has no model-signing signature")
	})

	start := r.Stats()
	began := time.Now()
	v, err := f.verify(ctx, "2")
	if err != nil {
		t.Fatalf("verify(2): %v", err)
	}
	if v.Previous != "1" {
		t.Errorf("verify(2): previous %s, want 1 (the champion)", v.Previous)
	}
	wantMetrics(t, reg.Versions["2"].Metrics, v.Metrics)
	mustDo(t, f.promote(ctx, "2", v.Previous, "promo-alias-2"))
	logCalls(t, "alias mode, verify + promote of v2", r.Stats(), start, time.Since(began))

	st := readState(t, s, name)
	if diff := cmp.Diff(map[string]string{"champion": "2", "previous": "1"}, st.Aliases); diff != "" {
		t.Errorf("aliases after promotion (-want +got):\n%s", diff)
	}
	wantStages(t, st, map[string]string{"1": "None", "2": "None", "3": "None"}) // stages untouched
	wantTag(t, st, "2", "modelgate.outcome", "promoted")

	mustDo(t, r.SetAlias(ctx, name, "challenger", "3"))
	if _, err := f.verify(ctx, "3"); err != nil {
		t.Fatalf("verify(3): %v", err)
	}
	mustDo(t, f.fail(ctx, "3", "promo-alias-3"))
	st = readState(t, s, name)
	if diff := cmp.Diff(map[string]string{"champion": "2", "previous": "1"}, st.Aliases); diff != "" {
		t.Errorf("aliases after the failed canary of v3 (-want +got):\n%s", diff)
	}
	wantTag(t, st, "3", "modelgate.outcome", "rolled_back")

	mustDo(t, f.revert(ctx, "2", "1", "promo-alias-2"))
	if diff := cmp.Diff(map[string]string{"champion": "1"}, readState(t, s, name).Aliases); diff != "" {
		t.Errorf("aliases after reverting v2 (-want +got):\n%s", diff)
	}
}

// tamper overwrites one file of a logged model through the artifact proxy
// and returns a function that puts the original back.
func tamper(t *testing.T, s *server, modelID, file string) func() {
	t.Helper()
	var lm struct {
		Model struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"model"`
	}
	getJSON(t, s.URI+"/api/2.0/mlflow/logged-models/"+modelID, &lm)
	u := s.URI + "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(lm.Model.Info.ArtifactURI, "mlflow-artifacts:/") + "/" + file
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %s", u, err, resp.Status)
	}
	put(t, u, append(append([]byte{}, orig...), "\n# tampered\n"...))
	return func() { put(t, u, orig) }
}

func put(t *testing.T, u string, body []byte) {
	t.Helper()
	req, err := http.NewRequest("PUT", u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", u, resp.Status)
	}
}

func getJSON(t *testing.T, u string, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", p)
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCodeT(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := modelgate.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want %s", what, err, got, code)
	}
}

func wantMetrics(t *testing.T, want, got map[string]float64) {
	t.Helper()
	approx := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(a)) })
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("VersionMetrics (-want +got):\n%s", diff)
	}
}

func wantStages(t *testing.T, st mlflowState, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for v, s := range st.Versions {
		got[v] = s.Stage
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages as MLflow's client reads them (-want +got):\n%s", diff)
	}
}

func wantTag(t *testing.T, st mlflowState, version, key, want string) {
	t.Helper()
	if got := st.Versions[version].Tags[key]; got != want {
		t.Errorf("version %s tag %s = %q, want %q", version, key, got, want)
	}
}

func logCalls(t *testing.T, what string, end, start mlflow.Stats, wall time.Duration) {
	t.Helper()
	t.Logf("%s: %d registry calls, %s in registry calls (wall %s)", what, end.Calls-start.Calls, end.Time-start.Time, wall.Round(time.Millisecond))
}
