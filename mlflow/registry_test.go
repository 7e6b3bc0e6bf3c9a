package mlflow_test

import (
	"testing"

	"github.com/modelgate/modelgate/modelgatetest"
)

// TestRegistry runs the registry conformance suite against a real MLflow
// server, shared by every subtest (the suite uses unique model names).
func TestRegistry(t *testing.T) {
	t.Parallel()
	s := mustServer(t)
	r := mustRegistry(t, s, nil)
	modelgatetest.TestRegistry(t, func(t *testing.T) modelgatetest.Subject {
		return modelgatetest.Subject{Registry: r, Registrar: r}
	})
	st := r.Stats()
	t.Logf("conformance suite: %d registry calls (%d attempts, %d retries) in %s", st.Calls, st.Attempts, st.Retries, st.Time)
}
