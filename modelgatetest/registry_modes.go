package modelgatetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
)

// testStageModeSequence is the registry side of a promotion and of its
// rollback in stage mode: the candidate goes Staging -> Production
// archiving the previous version in the same call, outcome tags are set,
// and a rollback restores the previous version and archives the candidate.
func testStageModeSequence(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "stage-mode", 3)
	mustTransition(t, s, name, "1", modelgate.StageProduction, false)
	mustTransition(t, s, name, "2", modelgate.StageStaging, false)
	mustTransition(t, s, name, "3", modelgate.StageStaging, false)

	mustTransition(t, s, name, "2", modelgate.StageProduction, true)
	mustSetTag(t, s, name, "2", "modelgate.outcome", "promoted")
	mustSetTag(t, s, name, "2", "modelgate.promotion_id", "p-2")
	want := map[string]modelgate.Stage{"1": "Archived", "2": "Production", "3": "Staging"}
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("after promoting 2 (-want +got):\n%s", diff)
	}
	mustTransition(t, s, name, "3", modelgate.StageArchived, false) // 3's canary failed
	mustSetTag(t, s, name, "3", "modelgate.outcome", "rolled_back")

	mustTransition(t, s, name, "1", modelgate.StageProduction, false) // revert 2: two calls
	mustTransition(t, s, name, "2", modelgate.StageArchived, false)
	want = map[string]modelgate.Stage{"1": "Production", "2": "Archived", "3": "Archived"}
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("after reverting 2 (-want +got):\n%s", diff)
	}
	if got := mustGetVersion(t, s, name, "3").Tags["modelgate.outcome"]; got != "rolled_back" {
		t.Errorf("version 3 modelgate.outcome = %q, want rolled_back", got)
	}
}

// testAliasModeSequence is the same in alias mode: @challenger marks the
// candidate, @champion production; promotion keeps the old champion as
// @previous; stages never change.
func testAliasModeSequence(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "alias-mode", 3)
	mustSetAlias(t, s, name, "champion", "1")
	mustSetAlias(t, s, name, "challenger", "2")

	mustSetAlias(t, s, name, "previous", "1")
	mustSetAlias(t, s, name, "champion", "2")
	if err := s.Registry.DeleteAlias(t.Context(), name, "challenger"); err != nil {
		t.Fatalf("DeleteAlias(challenger): %v", err)
	}
	mustSetTag(t, s, name, "2", "modelgate.outcome", "promoted")
	checkModelAliases(t, s, name, map[string]string{"champion": "2", "previous": "1"})
	wantVersionAliases(t, s, name, map[string][]string{"1": {"previous"}, "2": {"champion"}, "3": nil})

	mustSetAlias(t, s, name, "challenger", "3") // 3's canary fails: champion stays
	if err := s.Registry.DeleteAlias(t.Context(), name, "challenger"); err != nil {
		t.Fatalf("DeleteAlias(challenger): %v", err)
	}
	mustSetTag(t, s, name, "3", "modelgate.outcome", "rolled_back")

	mustSetAlias(t, s, name, "champion", "1") // revert 2
	if err := s.Registry.DeleteAlias(t.Context(), name, "previous"); err != nil {
		t.Fatalf("DeleteAlias(previous): %v", err)
	}
	checkModelAliases(t, s, name, map[string]string{"champion": "1"})
	wantAlias(t, s, name, "champion", "1")
	want := map[string]modelgate.Stage{"1": "None", "2": "None", "3": "None"}
	if diff := cmp.Diff(want, stages(t, s, name)); diff != "" {
		t.Errorf("alias mode changed stages (-want +got):\n%s", diff)
	}
}

// wantVersionAliases checks the aliases ListVersions reports per version.
func wantVersionAliases(t *testing.T, s Subject, name string, want map[string][]string) {
	t.Helper()
	versions, err := s.Registry.ListVersions(t.Context(), name)
	if err != nil {
		t.Fatalf("ListVersions(%s): %v", name, err)
	}
	got := map[string][]string{}
	for _, v := range versions {
		got[v.Version] = v.Aliases
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ListVersions aliases (-want +got):\n%s", diff)
	}
}
