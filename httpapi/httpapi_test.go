package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/httpapi"
)

// service is a function-field mock of modelgate.PromotionService; a call
// whose field is nil answers ENOTFOUND.
type service struct {
	start  func(ctx context.Context, model, version string) (*modelgate.Promotion, error)
	follow func(ctx context.Context, id string, after int64, fn func(modelgate.Event)) (*modelgate.Promotion, error)
	abort  func(ctx context.Context, model, reason string) (*modelgate.Promotion, error)
}

var _ modelgate.PromotionService = (*service)(nil)

var errMissing = modelgate.Errorf(modelgate.ENOTFOUND, "missing")

func (s *service) StartPromotion(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
	return s.start(ctx, model, version)
}
func (s *service) ResumePromotion(context.Context, string) (*modelgate.Promotion, error) {
	return nil, errMissing
}
func (s *service) AcceptPromotion(context.Context, string, string) (*modelgate.Promotion, error) {
	return nil, errMissing
}
func (s *service) AbortPromotion(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	return s.abort(ctx, model, reason)
}
func (s *service) Promotions(context.Context, string) ([]*modelgate.Promotion, error) {
	return nil, nil
}
func (s *service) Promotion(_ context.Context, id string) (*modelgate.Promotion, []*modelgate.StepRecord, error) {
	return &modelgate.Promotion{ID: id, Model: "m"}, nil, nil
}
func (s *service) FollowPromotion(ctx context.Context, id string, after int64, fn func(modelgate.Event)) (*modelgate.Promotion, error) {
	return s.follow(ctx, id, after, fn)
}
func (s *service) Approve(context.Context, *modelgate.Approval) error { return errMissing }
func (s *service) ModelStatus(context.Context, string) (*modelgate.ModelStatus, error) {
	return nil, errMissing
}

// trail is an in-memory audit log.
type trail struct {
	mu      sync.Mutex
	entries []modelgate.AuditEntry
}

func (t *trail) Append(_ context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = append(t.entries, e)
	return e, nil
}

func (t *trail) who() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, e := range t.entries {
		out = append(out, e.Actor+" "+e.ActorSource+" "+e.Action+" "+e.Outcome)
	}
	return out
}

const (
	viewerToken   = "viewer-token-0123456789"
	operatorToken = "operator-token-0123456789"
)

func mustServe(t *testing.T, svc modelgate.PromotionService) (*httptest.Server, *trail) {
	t.Helper()
	tokens := &httpapi.Tokens{}
	for tok, id := range map[string]httpapi.Identity{viewerToken: {Name: "vic", Role: httpapi.RoleViewer}, operatorToken: {Name: "olga", Role: httpapi.RoleOperator}} {
		if err := tokens.Add(tok, id); err != nil {
			t.Fatal(err)
		}
	}
	log := &trail{}
	h, err := httpapi.NewServer(svc, tokens, log).Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, log
}

func TestServer_TokensRolesAndTheAuditTrail(t *testing.T) {
	svc := &service{start: func(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
		if a, _ := modelgate.ActorFromContext(ctx); a.Name != "olga" || a.Source != "token:olga" {
			t.Errorf("the service was called as %+v", a)
		}
		if version == "9" {
			return nil, modelgate.Errorf(modelgate.EPRECONDITION, "approval missing").WithHint("approve it")
		}
		return &modelgate.Promotion{ID: "p1", Model: model, Version: version}, nil
	}}
	srv, log := mustServe(t, svc)
	ctx := context.Background()
	tests := []struct {
		name, token, version string
		code                 string
	}{
		{"NoToken", "", "2", modelgate.EUNAUTHORIZED},
		{"UnknownToken", "not-a-token-0123456789", "2", modelgate.EUNAUTHORIZED},
		{"Viewer", viewerToken, "2", modelgate.EUNAUTHORIZED},
		{"Operator", operatorToken, "2", ""},
		{"PreconditionFails", operatorToken, "9", modelgate.EPRECONDITION},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := httpapi.NewClient(srv.URL, tt.token).StartPromotion(ctx, "m", tt.version)
			if got := modelgate.ErrorCode(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if err == nil && p.ID != "p1" {
				t.Fatalf("promotion %+v", p)
			}
			if tt.code == modelgate.EPRECONDITION && modelgate.ErrorMessage(err) != "approval missing (approve it)" {
				t.Fatalf("message %q", modelgate.ErrorMessage(err))
			}
		})
	}
	want := []string{
		"anonymous none api.post.promotions refused",
		"anonymous token:unknown api.post.promotions refused",
		"vic token:vic api.post.promotions refused",
		"olga token:olga api.post.promotions done",
		"olga token:olga api.post.promotions failed",
	}
	if diff := cmp.Diff(want, log.who()); diff != "" {
		t.Fatalf("audit trail (-want +got):\n%s", diff)
	}
}

func TestServer_StatusCodes(t *testing.T) {
	srv, _ := mustServe(t, &service{abort: func(context.Context, string, string) (*modelgate.Promotion, error) {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "no unfinished promotion")
	}})
	for _, tt := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"POST", "/api/v1/models/m/abort", "", `{"reason":"x"}`, 401},
		{"POST", "/api/v1/models/m/abort", viewerToken, `{"reason":"x"}`, 403},
		{"POST", "/api/v1/models/m/abort", operatorToken, `{}`, 400},
		{"POST", "/api/v1/models/m/abort", operatorToken, `{"reason":"x"}`, 404},
		{"GET", "/api/v1/promotions", viewerToken, ``, 200},
		{"GET", "/api/v1/nothing", viewerToken, ``, 404},
		{"GET", "/healthz", "", ``, 200},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s with %q: %d, want %d", tt.method, tt.path, tt.token, resp.StatusCode, tt.status)
		}
	}
}

func TestStatusFor(t *testing.T) {
	got := map[string]int{}
	for _, c := range []string{modelgate.EINVALID, modelgate.EUNAUTHORIZED, modelgate.ENOTFOUND, modelgate.ECONFLICT, modelgate.EPRECONDITION, modelgate.EUNAVAILABLE, modelgate.EINTERNAL} {
		got[c] = httpapi.StatusFor(c)
	}
	want := map[string]int{"invalid": 400, "unauthorized": 403, "not_found": 404, "conflict": 409, "precondition": 409, "unavailable": 503, "internal": 500}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
}

// A stream that breaks is opened again with the last event's id: no event
// is passed twice and the end arrives.
func TestClient_FollowReconnects(t *testing.T) {
	var calls []int64
	var mu sync.Mutex
	svc := &service{follow: func(ctx context.Context, id string, after int64, fn func(modelgate.Event)) (*modelgate.Promotion, error) {
		mu.Lock()
		calls = append(calls, after)
		first := len(calls) == 1
		mu.Unlock()
		for seq := after + 1; seq <= 3; seq++ {
			fn(modelgate.Event{Seq: seq, PromotionID: id, Message: "look"})
			if first && seq == 2 {
				panic(http.ErrAbortHandler) // the connection drops
			}
		}
		return &modelgate.Promotion{ID: id, Outcome: modelgate.OutcomePromoted}, nil
	}}
	srv, _ := mustServe(t, svc)
	c := httpapi.NewClient(srv.URL, viewerToken)
	var got []int64
	end, err := c.FollowPromotion(context.Background(), "p1", 0, func(e modelgate.Event) { got = append(got, e.Seq) })
	if err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("end %+v, %v", end, err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, got); diff != "" || !cmp.Equal([]int64{0, 2}, calls) {
		t.Fatalf("events (-want +got):\n%s\nfollow calls from %v", diff, calls)
	}
}
