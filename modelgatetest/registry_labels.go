package modelgatetest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
)

func mustSetAlias(t *testing.T, s Subject, name, alias, version string) {
	t.Helper()
	if err := s.Registry.SetAlias(t.Context(), name, alias, version); err != nil {
		t.Fatalf("SetAlias(%s, %s, %s): %v", name, alias, version, err)
	}
}

// wantAlias checks that alias resolves to version.
func wantAlias(t *testing.T, s Subject, name, alias, version string) {
	t.Helper()
	mv, err := s.Registry.GetVersionByAlias(t.Context(), name, alias)
	if err != nil {
		t.Fatalf("GetVersionByAlias(%s, %s): %v", name, alias, err)
	}
	if mv.Version != version {
		t.Errorf("alias %s points at version %s, want %s", alias, mv.Version, version)
	}
}

func testAliases(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "aliases", 2)
	mustSetAlias(t, s, name, "champion", "1")
	wantAlias(t, s, name, "champion", "1")
	mustSetAlias(t, s, name, "champion", "2") // overwrite
	mustSetAlias(t, s, name, "challenger", "2")
	wantAlias(t, s, name, "champion", "2")
	if got := mustGetVersion(t, s, name, "2").Aliases; !cmp.Equal(got, []string{"challenger", "champion"}) {
		t.Errorf("version 2 aliases = %q, want [challenger champion] (sorted)", got)
	}
	if got := mustGetVersion(t, s, name, "1").Aliases; len(got) != 0 {
		t.Errorf("version 1 aliases = %q after champion moved, want none", got)
	}
	checkModelAliases(t, s, name, map[string]string{"champion": "2", "challenger": "2"})

	if err := s.Registry.DeleteAlias(t.Context(), name, "challenger"); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if err := s.Registry.DeleteAlias(t.Context(), name, "challenger"); err != nil {
		t.Errorf("DeleteAlias of a missing alias: %v, want no error", err)
	}
	_, err := s.Registry.GetVersionByAlias(t.Context(), name, "challenger")
	wantCode(t, "GetVersionByAlias(deleted alias)", err, modelgate.ENOTFOUND)
	checkModelAliases(t, s, name, map[string]string{"champion": "2"})

	err = s.Registry.SetAlias(t.Context(), name, "champion", "3")
	wantCode(t, "SetAlias on a missing version", err, modelgate.ENOTFOUND)
	wantAlias(t, s, name, "champion", "2")
}

func checkModelAliases(t *testing.T, s Subject, name string, want map[string]string) {
	t.Helper()
	m, err := s.Registry.GetModel(t.Context(), name)
	if err != nil {
		t.Fatalf("GetModel(%s): %v", name, err)
	}
	if diff := cmp.Diff(want, m.Aliases, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetModel(%s).Aliases (-want +got):\n%s", name, diff)
	}
}

// testAliasNames checks MLflow's alias rules: ^[\w\-]*$, at most 255
// characters, "latest" and v<digits> reserved.
func testAliasNames(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "alias-names", 1)
	for _, alias := range []string{"champion", "challenger-2", "prod_eu", "v", "v1a", "version3", strings.Repeat("a", 255)} {
		if err := s.Registry.SetAlias(t.Context(), name, alias, "1"); err != nil {
			t.Errorf("SetAlias(%q): %v, want success", alias, err)
		}
	}
	for _, alias := range []string{"latest", "Latest", "v3", "V12", "bad alias", "a/b", "a.b", "", strings.Repeat("a", 256)} {
		err := s.Registry.SetAlias(t.Context(), name, alias, "1")
		wantCode(t, "SetAlias("+abbrev(alias)+")", err, modelgate.EINVALID)
	}
}

func abbrev(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return `"` + s + `"`
}

func mustSetTag(t *testing.T, s Subject, name, version, key, value string) {
	t.Helper()
	if err := s.Registry.SetVersionTag(t.Context(), name, version, key, value); err != nil {
		t.Fatalf("SetVersionTag(%s/%s, %s): %v", name, version, abbrev(key), err)
	}
}

func testTags(t *testing.T, s Subject) {
	name, dir := uniqueName("tags"), MustModelDir(t, "tags")
	mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: dir, Tags: candidateTags()})
	mustSetTag(t, s, name, "1", "validation_status", "pending")
	mustSetTag(t, s, name, "1", "validation_status", "passed") // overwrite
	mustSetTag(t, s, name, "1", "team/owner.name-x y:z", "ml-platform")
	mustSetTag(t, s, name, "1", modelgate.TagApprover, "bob")
	for _, key := range []string{modelgate.TagGitSHA, "never-set"} {
		if err := s.Registry.DeleteVersionTag(t.Context(), name, "1", key); err != nil {
			t.Errorf("DeleteVersionTag(%s): %v", key, err)
		}
	}
	want := map[string]string{
		modelgate.TagDatasetVersion: "ds-2026-03",
		modelgate.TagApprover:       "bob",
		modelgate.TagModelSHA256:    mustDigest(t, dir),
		"validation_status":         "passed",
		"team/owner.name-x y:z":     "ml-platform",
	}
	if diff := cmp.Diff(want, mustGetVersion(t, s, name, "1").Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// testTagRules checks MLflow's tag rules: key of at most 250 characters from
// [/\w.\- :], not path-like; value of at most 5000 characters.
func testTagRules(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "tag-rules", 1)
	mustSetTag(t, s, name, "1", strings.Repeat("k", 250), strings.Repeat("v", 5000))
	bad := []struct{ key, value string }{
		{"", "v"},
		{"bad!key", "v"},
		{"line\nbreak", "v"},
		{"../up", "v"},
		{"/abs", "v"},
		{"a//b", "v"},
		{strings.Repeat("k", 251), "v"},
		{"long_value", strings.Repeat("v", 5001)},
	}
	for _, b := range bad {
		err := s.Registry.SetVersionTag(t.Context(), name, "1", b.key, b.value)
		wantCode(t, "SetVersionTag("+abbrev(b.key)+")", err, modelgate.EINVALID)
	}
}

func testMetrics(t *testing.T, s Subject) {
	name := uniqueName("metrics")
	want := map[string]float64{"accuracy": 0.93, "auc": 0.881, "latency_p95_ms": 41.5}
	mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: MustModelDir(t, "m1"), Metrics: want})
	mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: MustModelDir(t, "m2")})
	got, err := s.Registry.VersionMetrics(t.Context(), name, "1")
	if err != nil {
		t.Fatalf("VersionMetrics: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VersionMetrics (-want +got):\n%s", diff)
	}
	got, err = s.Registry.VersionMetrics(t.Context(), name, "2")
	if err != nil || len(got) != 0 {
		t.Errorf("VersionMetrics of a version without metrics = %v, %v; want empty, nil", got, err)
	}
}
