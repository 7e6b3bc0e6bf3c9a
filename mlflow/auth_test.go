package mlflow_test

import (
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlflow"
	"github.com/modelgate/modelgate/modelgatetest"
)

// TestBasicAuth runs against MLflow's basic-auth app (`mlflow server
// --app-name basic-auth`): wrong or missing credentials are EUNAUTHORIZED
// with MLflow's message, and change nothing.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	s := mustServerApp(t, "basic-auth")
	admin := mustRegistry(t, s, func(o *mlflow.Options) { o.Username, o.Password = adminUser, adminPassword })
	name := "auth-" + t.Name()
	if _, err := admin.CreateVersion(t.Context(), modelgate.NewVersion{Name: name, Dir: modelgatetest.MustModelDir(t, "auth")}); err != nil {
		t.Fatalf("CreateVersion as admin: %v", err)
	}
	for what, edit := range map[string]func(*mlflow.Options){
		"wrong password": func(o *mlflow.Options) { o.Username, o.Password = adminUser, "wrong-password-123456" },
		"no credentials": nil,
		"bearer token":   func(o *mlflow.Options) { o.Token = "not-a-token" },
	} {
		r := mustRegistry(t, s, edit)
		_, err := r.GetVersion(t.Context(), name, "1")
		if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || modelgate.ErrorMessage(err) == "" {
			t.Errorf("%s: GetVersion error %v (code %s), want unauthorized", what, err, modelgate.ErrorCode(err))
		}
		err = r.SetVersionTag(t.Context(), name, "1", "modelgate.outcome", "promoted")
		if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED {
			t.Errorf("%s: SetVersionTag error %v, want unauthorized", what, err)
		}
		if r.Stats().Retries != 0 {
			t.Errorf("%s: %d retries; a refusal is not retried", what, r.Stats().Retries)
		}
		t.Logf("%s: %s", what, modelgate.ErrorMessage(err))
	}
	mv, err := admin.GetVersion(t.Context(), name, "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mv.Tags["modelgate.outcome"]; ok {
		t.Errorf("a refused SetVersionTag set the tag")
	}
}
