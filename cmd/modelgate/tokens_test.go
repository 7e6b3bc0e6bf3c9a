package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A server starts only with tokens, and a tokens file is read strictly.
func TestServerTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, env string
		want            string // "" for success
	}{
		{"None", "", "", "server: no tokens"},
		{"EnvAdmin", "", "admin-token-0123456789", ""},
		{"File", write("ok.yaml", "viewer-token-0123456789: {name: vic, role: viewer}\n"), "", ""},
		{"UnknownRole", write("role.yaml", "viewer-token-0123456789: {name: vic, role: king}\n"), "", `role of "vic" is "king"`},
		{"ShortToken", write("short.yaml", "abc: {name: vic, role: viewer}\n"), "", "shorter than 16"},
		{"UnknownKey", write("key.yaml", "viewer-token-0123456789: {name: vic, rol: viewer}\n"), "", "field rol not found"},
		{"Missing", filepath.Join(dir, "none.yaml"), "", "no such file"},
		{"SameTokenTwice", write("twice.yaml", "admin-token-0123456789: {name: vic, role: viewer}\n"), "admin-token-0123456789", "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Server.TokensFile, cfg.Server.AdminTokenEnv = tt.file, "MODELGATE_TEST_SERVER_ADMIN_TOKEN"
			t.Setenv("MODELGATE_TEST_SERVER_ADMIN_TOKEN", tt.env)
			_, err := serverTokens(cfg, io.Discard)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
