package postgres_test

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/postgres"
)

// The connection string may hold a password; no error may repeat it.
func TestPostgresDB_OpenHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://modelgate:s3cret-pw@127.0.0.1:1/modelgate?connect_timeout=2",
		"host=127.0.0.1 port=1 user=modelgate password=s3cret-pw connect_timeout=2",
		"postgres://modelgate:s3cret-pw@127.0.0.1:1/modelgate?sslmode=bogus",
	} {
		err := postgres.NewDB(dsn).Open(t.Context())
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("Open(%q) = %v; want an error without the password", dsn, err)
		}
	}
}

func TestPostgresDB_OpenErrors(t *testing.T) {
	for dsn, want := range map[string]string{
		"":               modelgate.EINVALID,
		"postgres://%zz": modelgate.EINVALID,
		"host=127.0.0.1 port=1 user=x connect_timeout=2": modelgate.EUNAVAILABLE,
	} {
		err := postgres.NewDB(dsn).Open(t.Context())
		if code := modelgate.ErrorCode(err); code != want {
			t.Errorf("Open(%q): code %q (%v), want %s", dsn, code, err, want)
		}
	}
}
