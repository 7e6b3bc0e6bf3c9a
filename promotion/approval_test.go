package promotion_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// lastAudit returns the audit trail's last entry.
func lastAudit(t *testing.T, w *world) modelgate.AuditEntry {
	t.Helper()
	b, err := os.ReadFile(w.audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var e modelgate.AuditEntry
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func approvals(t *testing.T, w *world, version string) []*modelgate.Approval {
	t.Helper()
	got, err := w.store.Approvals(context.Background(), model, version)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Each approval rule refuses with a message naming it, changes no
// approval, and the audit trail records the refusal with who ran it.
func TestApprove_RulesRefuseAndChangeNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		setup         func(t *testing.T, w *world)
		role, by, msg string
		code          string
	}{
		{"UnconfiguredRole", nil, "complaince_officer", "tom",
			`role "complaince_officer" is not an approval role; preconditions.required_approvals names data_science_lead, compliance_officer`, modelgate.EINVALID},
		{"PlaceholderName", nil, "compliance_officer", "TODO", `the approver's name "TODO" is a placeholder`, modelgate.EINVALID},
		{"SecondRole", nil, "compliance_officer", "By-Data_Science_Lead",
			"already approved demand-forecast version 2 as data_science_lead; one person cannot fill two roles of one version", modelgate.EPRECONDITION},
		{"Author", func(t *testing.T, w *world) { mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "author", "tom")) }, "compliance_officer", "tom",
			"tom is the author of demand-forecast version 2 (tag author) and may not approve it (preconditions.author_may_approve is false)", modelgate.EPRECONDITION},
		{"UnknownVersion", nil, "compliance_officer", "tom", "not found", modelgate.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			version := "2"
			if tt.name == "UnknownVersion" {
				version = "9"
			}
			before := approvals(t, w, version)
			_, err := w.service("a").Approve(ctx, model, version, tt.role, tt.by)
			if modelgate.ErrorCode(err) != tt.code || !strings.Contains(modelgate.ErrorMessage(err), tt.msg) {
				t.Fatalf("Approve = %v (%s), want %s containing %q", err, modelgate.ErrorCode(err), tt.code, tt.msg)
			}
			if diff := cmp.Diff(before, approvals(t, w, version)); diff != "" {
				t.Errorf("approvals changed (-before +after):\n%s", diff)
			}
			e := lastAudit(t, w)
			if e.Action != "approval" || e.Outcome != "refused" || e.Actor != "test" || e.ActorSource != "env:TEST" || !strings.Contains(e.Detail, tt.msg) {
				t.Errorf("audit entry %+v, want the refusal by test (env:TEST) with the message", e)
			}
		})
	}
}

func TestApprove_UnconfiguredRoleSuggestsTheNearest(t *testing.T) {
	w := newWorld(t)
	_, err := w.service("a").Approve(context.Background(), model, "2", "complaince_officer", "tom")
	var e *modelgate.Error
	if !asError(err, &e) || e.Hint != "did you mean compliance_officer?" {
		t.Errorf("error %v, want the hint naming compliance_officer", err)
	}
}

// An approval records who gave it and who recorded it; the author may
// approve where configured; the same person may renew their own role.
func TestApprove_Records(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc := w.service("a")
	mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "author", "tom"))
	svc.Policy.AuthorMayApprove = true
	a, err := svc.Approve(ctx, model, "2", "compliance_officer", " tom ")
	if err != nil {
		t.Fatal(err)
	}
	want := &modelgate.Approval{Model: model, Version: "2", Role: "compliance_officer", By: "tom", At: w.clock.Now().UTC(), RecordedBy: "test", Source: "env:TEST"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("approval (-want +got):\n%s", diff)
	}
	if e := lastAudit(t, w); e.Outcome != "approved" || !strings.Contains(e.Detail, "tom approved as compliance_officer, replacing by-compliance_officer's approval") {
		t.Errorf("audit entry %+v, want the approval naming the one it replaced", e)
	}
	if _, err := svc.Approve(ctx, model, "2", "compliance_officer", "Tom"); err != nil {
		t.Errorf("renewing one's own role: %v", err)
	}
}

// A revocation needs a reason, is kept with who revoked and why, and is
// audited; revoking what is missing or revoked already changes nothing.
func TestRevokeApproval(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc := w.service("a")
	before := approvals(t, w, "2")
	for _, tc := range []struct{ role, reason, code, msg string }{
		{"compliance_officer", "n/a", modelgate.EINVALID, "a revocation needs a reason"},
		{"auditor", "wrong version", modelgate.ENOTFOUND, "has no approval by the auditor to revoke"},
	} {
		_, err := svc.RevokeApproval(ctx, model, "2", tc.role, tc.reason)
		if modelgate.ErrorCode(err) != tc.code || !strings.Contains(modelgate.ErrorMessage(err), tc.msg) {
			t.Errorf("RevokeApproval(%s, %q) = %v, want %s containing %q", tc.role, tc.reason, err, tc.code, tc.msg)
		}
		if e := lastAudit(t, w); e.Action != "approval.revoke" || e.Outcome != "refused" {
			t.Errorf("audit entry %+v, want the refused revocation", e)
		}
	}
	if diff := cmp.Diff(before, approvals(t, w, "2")); diff != "" {
		t.Fatalf("refused revocations changed approvals (-before +after):\n%s", diff)
	}
	a, err := svc.RevokeApproval(ctx, model, "2", "compliance_officer", "dataset licence unclear")
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Revoked; r == nil || r.By != "test" || r.Source != "env:TEST" || r.Reason != "dataset licence unclear" {
		t.Errorf("revoked approval %+v, want the revocation by test with its reason", a)
	}
	if e := lastAudit(t, w); e.Outcome != "revoked" || e.Actor != "test" || !strings.Contains(e.Detail, "by-compliance_officer revoked: dataset licence unclear") {
		t.Errorf("audit entry %+v, want the revocation", e)
	}
	_, err = svc.RevokeApproval(ctx, model, "2", "compliance_officer", "again")
	if modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		t.Errorf("second revocation = %v, want ECONFLICT", err)
	}
}

// The preconditions re-check every rule: an approval revoked, expired, by
// the author or by someone filling another role no longer counts.
func TestPromote_ApprovalsRechecked(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, w *world, svc *promotion.Service)
		msg   string
	}{
		{"Revoked", func(t *testing.T, w *world, svc *promotion.Service) {
			_, err := svc.RevokeApproval(ctx, model, "2", "compliance_officer", "licence unclear")
			mustDo(t, err)
		}, "the compliance_officer's approval by by-compliance_officer was revoked by test on 2026-11-27 09:00Z: licence unclear"},
		{"Expired", func(t *testing.T, w *world, _ *promotion.Service) { w.clock.Advance(8 * 24 * time.Hour) },
			"the data_science_lead's approval by by-data_science_lead, given on 2026-11-27 09:00Z, is older than preconditions.approval_max_age (168h0m0s)"},
		{"ByAuthor", func(t *testing.T, w *world, _ *promotion.Service) {
			mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "author", "by-compliance_officer"))
		}, "the compliance_officer's approval does not count: by-compliance_officer is the author of demand-forecast version 2"},
		{"TwoRoles", func(t *testing.T, w *world, _ *promotion.Service) {
			w.clock.Advance(time.Minute)
			mustDo(t, w.store.AddApproval(ctx, &modelgate.Approval{Model: model, Version: "2", Role: "compliance_officer", By: "by-data_science_lead", At: w.clock.Now()}))
		}, "the compliance_officer's approval does not count: by-data_science_lead approved as data_science_lead too, and one person cannot fill two roles of one version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			svc := w.service("a")
			tt.setup(t, w, svc)
			_, err := svc.Start(ctx, model, "2")
			if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(modelgate.ErrorMessage(err), tt.msg) {
				t.Fatalf("Start = %v, want EPRECONDITION containing %q", err, tt.msg)
			}
			if ps, _ := w.store.ListPromotions(ctx, model); len(ps) != 0 {
				t.Fatalf("a promotion was stored: %+v", ps[0])
			}
		})
	}
}

// With approval_max_age 0 approvals never expire.
func TestPromote_ApprovalsWithoutMaxAge(t *testing.T) {
	w := newWorld(t)
	svc := w.service("a")
	svc.Policy.ApprovalMaxAge = 0
	w.clock.Advance(400 * 24 * time.Hour)
	if _, err := svc.Start(context.Background(), model, "2"); err != nil {
		t.Fatal(err)
	}
}

func TestIsPlaceholder(t *testing.T) {
	for _, v := range []string{"", "  ", "...", "…", "-", "?", "TODO", "todo", "TBD", "tbd", "n/a", "N/A", "none", "<git sha>", "<…>", "{{ sha }}", "${GIT_SHA}", "FIXME"} {
		if !promotion.IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = false", v)
		}
	}
	for _, v := range []string{"a1047eab", "sales-2024-12-31", "ada", "priya.raman", "v1.2", "n/a-team", "todo-list-model"} {
		if promotion.IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = true", v)
		}
	}
}

func asError(err error, e **modelgate.Error) bool { return errors.As(err, e) }
