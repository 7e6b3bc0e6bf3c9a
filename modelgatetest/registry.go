package modelgatetest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
)

// Subject is a registry under test: the Registry, and the Registrar that
// fills it with fixtures. Most backends set both to the same value.
type Subject struct {
	Registry  modelgate.Registry
	Registrar modelgate.Registrar
}

// TestRegistry runs the registry conformance suite. open is called once per
// subtest; it may return a fresh registry or a shared one (a real MLflow
// server): the suite creates every model it uses, under names no other run
// uses, and never assumes the registry is empty. Fixtures go through
// CreateVersion only.
func TestRegistry(t *testing.T, open func(t *testing.T) Subject) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"CreateRequiresMLmodel", testCreateRequiresMLmodel},
		{"ListModelsSortedByName", testListModels},
		{"ListVersionsAscending", testListVersions},
		{"ErrorCodes", testRegistryErrorCodes},
		{"TransitionStage", testTransitionStage},
		{"TransitionStageInvalid", testTransitionStageInvalid},
		{"Aliases", testAliases},
		{"AliasNames", testAliasNames},
		{"Tags", testTags},
		{"TagRules", testTagRules},
		{"Metrics", testMetrics},
		{"DownloadArtifacts", testDownloadArtifacts},
		{"DownloadIntoNonEmptyDir", testDownloadNonEmpty},
		{"StageModeSequence", testStageModeSequence},
		{"AliasModeSequence", testAliasModeSequence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// candidateTags are the tags the playbook requires on a candidate.
func candidateTags() map[string]string {
	return map[string]string{
		modelgate.TagGitSHA:         "abc123",
		modelgate.TagDatasetVersion: "ds-2026-03",
		modelgate.TagApprover:       "alice",
	}
}

// mustCreate registers dir as the next version of name.
func mustCreate(t *testing.T, s Subject, nv modelgate.NewVersion) *modelgate.ModelVersion {
	t.Helper()
	mv, err := s.Registrar.CreateVersion(t.Context(), nv)
	if err != nil {
		t.Fatalf("CreateVersion(%s, %s): %v", nv.Name, nv.Dir, err)
	}
	return mv
}

// mustCreateN registers n versions of a new model from one directory and
// returns the model's name.
func mustCreateN(t *testing.T, s Subject, suffix string, n int) string {
	t.Helper()
	name := uniqueName(suffix)
	dir := MustModelDir(t, name)
	for range n {
		mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: dir})
	}
	return name
}

func mustGetVersion(t *testing.T, s Subject, name, version string) *modelgate.ModelVersion {
	t.Helper()
	mv, err := s.Registry.GetVersion(t.Context(), name, version)
	if err != nil {
		t.Fatalf("GetVersion(%s, %s): %v", name, version, err)
	}
	return mv
}

// ignoreVolatile leaves out what a backend chooses (timestamps, artifact
// location, run) when comparing versions.
var ignoreVolatile = cmp.Options{
	cmpopts.IgnoreFields(modelgate.ModelVersion{}, "CreatedAt", "UpdatedAt", "Source", "RunID"),
	cmpopts.EquateEmpty(),
}

func testCreateAndGet(t *testing.T, s Subject) {
	name, dir := uniqueName("create"), MustModelDir(t, "create")
	nv := modelgate.NewVersion{Name: name, Dir: dir, Tags: candidateTags(),
		Metrics: map[string]float64{"accuracy": 0.93}, Stage: modelgate.StageStaging}
	got := mustCreate(t, s, nv)

	wantTags := candidateTags()
	wantTags[modelgate.TagModelSHA256] = mustDigest(t, dir)
	want := &modelgate.ModelVersion{Name: name, Version: "1", Stage: modelgate.StageStaging, Tags: wantTags}
	if diff := cmp.Diff(want, got, ignoreVolatile); diff != "" {
		t.Errorf("CreateVersion returned (-want +got):\n%s", diff)
	}
	if got.Source == "" || got.CreatedAt.IsZero() {
		t.Errorf("CreateVersion returned Source %q, CreatedAt %v; want both set", got.Source, got.CreatedAt)
	}
	if _, ok := nv.Tags[modelgate.TagModelSHA256]; ok {
		t.Errorf("CreateVersion added model_sha256 to the caller's tag map")
	}
	fetched := mustGetVersion(t, s, name, "1")
	if diff := cmp.Diff(got, fetched, cmpopts.IgnoreFields(modelgate.ModelVersion{}, "UpdatedAt"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetVersion differs from CreateVersion's result (-create +get):\n%s", diff)
	}
	checkModel(t, s, name)
	second := mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: MustModelDir(t, "create-2")})
	if second.Version != "2" || second.Stage != modelgate.StageNone {
		t.Errorf("second version: got version %q stage %q, want \"2\" and None", second.Version, second.Stage)
	}
}

func checkModel(t *testing.T, s Subject, name string) {
	t.Helper()
	m, err := s.Registry.GetModel(t.Context(), name)
	if err != nil {
		t.Fatalf("GetModel(%s): %v", name, err)
	}
	if m.Name != name || m.CreatedAt.IsZero() {
		t.Errorf("GetModel(%s) = name %q, created %v; want the name and a creation time", name, m.Name, m.CreatedAt)
	}
}

func testCreateRequiresMLmodel(t *testing.T, s Subject) {
	name := uniqueName("no-mlmodel")
	noMLmodel := t.TempDir()
	mustWriteFile(t, filepath.Join(noMLmodel, "model.pkl"), "weights")
	for what, dir := range map[string]string{
		"directory without MLmodel": noMLmodel,
		"missing directory":         filepath.Join(t.TempDir(), "missing"),
	} {
		_, err := s.Registrar.CreateVersion(t.Context(), modelgate.NewVersion{Name: name, Dir: dir})
		wantCode(t, "CreateVersion from a "+what, err, modelgate.EINVALID)
	}
	_, err := s.Registry.GetModel(t.Context(), name)
	wantCode(t, "GetModel after failed CreateVersion", err, modelgate.ENOTFOUND)
}

func testListModels(t *testing.T, s Subject) {
	prefix := uniqueName("list")
	dir := MustModelDir(t, prefix)
	for _, suffix := range []string{"-b", "-a", "-c"} {
		mustCreate(t, s, modelgate.NewVersion{Name: prefix + suffix, Dir: dir})
	}
	models, err := s.Registry.ListModels(t.Context())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	var got []string
	for _, m := range models {
		if strings.HasPrefix(m.Name, prefix) {
			got = append(got, m.Name)
		}
	}
	want := []string{prefix + "-a", prefix + "-b", prefix + "-c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListModels (ours only) (-want +got):\n%s", diff)
	}
}

// testListVersions uses 11 versions so that "10" sorting before "2" shows.
func testListVersions(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "versions", 11)
	mustCreateN(t, s, "other", 1)
	versions, err := s.Registry.ListVersions(t.Context(), name)
	if err != nil {
		t.Fatalf("ListVersions: %v", err)
	}
	var got []string
	for _, v := range versions {
		if v.Name != name {
			t.Errorf("ListVersions(%s) returned a version of %s", name, v.Name)
		}
		got = append(got, v.Version)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListVersions (-want +got):\n%s", diff)
	}
}

func testRegistryErrorCodes(t *testing.T, s Subject) {
	name, missing := mustCreateN(t, s, "errors", 1), uniqueName("missing")
	ctx, r, target := t.Context(), s.Registry, filepath.Join(t.TempDir(), "dl")
	cases := []struct {
		what string
		err  error
		code string
	}{
		{"GetModel(missing model)", errOf(r.GetModel(ctx, missing)), modelgate.ENOTFOUND},
		{"ListVersions(missing model)", errOf(r.ListVersions(ctx, missing)), modelgate.ENOTFOUND},
		{"GetVersion(missing model)", errOf(r.GetVersion(ctx, missing, "1")), modelgate.ENOTFOUND},
		{"GetVersion(missing version)", errOf(r.GetVersion(ctx, name, "99")), modelgate.ENOTFOUND},
		{"GetVersionByAlias(missing model)", errOf(r.GetVersionByAlias(ctx, missing, "champion")), modelgate.ENOTFOUND},
		{"GetVersionByAlias(missing alias)", errOf(r.GetVersionByAlias(ctx, name, "champion")), modelgate.ENOTFOUND},
		{"TransitionStage(missing version)", errOf(r.TransitionStage(ctx, name, "99", modelgate.StageStaging, false)), modelgate.ENOTFOUND},
		{"TransitionStage(missing model)", errOf(r.TransitionStage(ctx, missing, "1", modelgate.StageStaging, false)), modelgate.ENOTFOUND},
		{"SetAlias(missing model)", r.SetAlias(ctx, missing, "champion", "1"), modelgate.ENOTFOUND},
		{"DeleteAlias(missing model)", r.DeleteAlias(ctx, missing, "champion"), modelgate.ENOTFOUND},
		{"SetVersionTag(missing version)", r.SetVersionTag(ctx, name, "99", "k", "v"), modelgate.ENOTFOUND},
		{"DeleteVersionTag(missing version)", r.DeleteVersionTag(ctx, name, "99", "k"), modelgate.ENOTFOUND},
		{"VersionMetrics(missing version)", errOf(r.VersionMetrics(ctx, name, "99")), modelgate.ENOTFOUND},
		{"DownloadArtifacts(missing version)", errOf(r.DownloadArtifacts(ctx, name, "99", target)), modelgate.ENOTFOUND},
	}
	for _, v := range []string{"x", "1.5", "", "0", "-1"} {
		cases = append(cases, struct {
			what string
			err  error
			code string
		}{fmt.Sprintf("GetVersion(version %q)", v), errOf(r.GetVersion(ctx, name, v)), modelgate.EINVALID})
	}
	for _, c := range cases {
		wantCode(t, c.what, c.err, c.code)
		if c.err != nil && modelgate.ErrorMessage(c.err) == "" {
			t.Errorf("%s: empty error message", c.what)
		}
	}
}

// stages returns version -> stage for every version of name.
func stages(t *testing.T, s Subject, name string) map[string]modelgate.Stage {
	t.Helper()
	versions, err := s.Registry.ListVersions(t.Context(), name)
	if err != nil {
		t.Fatalf("ListVersions(%s): %v", name, err)
	}
	m := map[string]modelgate.Stage{}
	for _, v := range versions {
		m[v.Version] = v.Stage
	}
	return m
}

func mustTransition(t *testing.T, s Subject, name, version string, stage modelgate.Stage, archive bool) *modelgate.ModelVersion {
	t.Helper()
	mv, err := s.Registry.TransitionStage(t.Context(), name, version, stage, archive)
	if err != nil {
		t.Fatalf("TransitionStage(%s/%s, %s, %v): %v", name, version, stage, archive, err)
	}
	return mv
}

func testTransitionStage(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "stages", 4)
	mustTransition(t, s, name, "1", modelgate.StageProduction, false)
	mustTransition(t, s, name, "2", modelgate.StageStaging, false)
	if got := mustTransition(t, s, name, "3", modelgate.StageProduction, true); got.Stage != modelgate.StageProduction {
		t.Errorf("TransitionStage returned stage %q, want Production", got.Stage)
	}
	want := map[string]modelgate.Stage{"1": "Archived", "2": "Staging", "3": "Production", "4": "None"}
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("after archiving transition (-want +got):\n%s", diff)
	}
	mustTransition(t, s, name, "4", modelgate.StageProduction, false)
	want["4"] = "Production"
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("after plain transition (-want +got):\n%s", diff)
	}
	// Stage names are case-insensitive, as in MLflow.
	if got := mustTransition(t, s, name, "2", "production", false); got.Stage != modelgate.StageProduction {
		t.Errorf(`TransitionStage to "production" gave stage %q, want Production`, got.Stage)
	}
}

func testTransitionStageInvalid(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "bad-stage", 2)
	mustTransition(t, s, name, "1", modelgate.StageProduction, false)
	for _, stage := range []modelgate.Stage{"Prod", "", "Canary"} {
		_, err := s.Registry.TransitionStage(t.Context(), name, "2", stage, false)
		wantCode(t, fmt.Sprintf("TransitionStage to %q", stage), err, modelgate.EINVALID)
	}
	for _, stage := range []modelgate.Stage{modelgate.StageArchived, modelgate.StageNone} {
		_, err := s.Registry.TransitionStage(t.Context(), name, "2", stage, true)
		wantCode(t, fmt.Sprintf("TransitionStage to %s archiving existing", stage), err, modelgate.EINVALID)
	}
	want := map[string]modelgate.Stage{"1": "Production", "2": "None"}
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("stages changed by rejected transitions (-want +got):\n%s", diff)
	}
}
