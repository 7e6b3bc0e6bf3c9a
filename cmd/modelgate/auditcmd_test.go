package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
)

const (
	testKeyA = "0123456789abcdef0123456789abcdef"
	testKeyB = "fedcba9876543210fedcba9876543210"
)

// mustAuditTrail writes n entries sealed with key ("" for none) and returns
// the trail's path.
func mustAuditTrail(t *testing.T, n int, key string) string {
	t.Helper()
	t.Setenv("MODELGATE_AUDIT_KEY", "")
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		l.Key = []byte(key)
	}
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), modelgate.AuditEntry{Actor: "ci", Action: "step.done", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func mustWriteFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditVerify_Keys(t *testing.T) {
	idA := audit.KeyID([]byte(testKeyA))
	unkeyed := mustAuditTrail(t, 3, "")
	keyed := mustAuditTrail(t, 3, testKeyA)
	dir := t.TempDir()
	keyFileA := mustWriteFile(t, filepath.Join(dir, "a.key"), testKeyA+"\n")
	keyFileB := mustWriteFile(t, filepath.Join(dir, "b.key"), testKeyB+"\n")
	config := mustWriteFile(t, filepath.Join(dir, "modelgate.yaml"), "records:\n  audit_key_file: a.key\n")
	tests := []struct {
		name        string
		env         string
		args        []string
		code        int
		out, errmsg string
	}{
		{"Unkeyed", "", []string{unkeyed}, 0, "3 entries, chain intact\nwarning: this trail is not keyed", ""},
		{"KeyFromEnv", testKeyA, []string{keyed}, 0, "chain intact, sealed with key " + idA, ""},
		{"KeyFile", "", []string{"--key-file", keyFileA, keyed}, 0, "sealed with key " + idA, ""},
		{"KeyFromConfig", "", []string{"--config", config, keyed}, 0, "sealed with key " + idA, ""},
		{"WrongKey", testKeyB, []string{keyed}, 1, "", "entry 1 (line 1): sealed with key " + idA + ", not with the key given"},
		{"WrongKeyFile", "", []string{"--key-file", keyFileB, keyed}, 1, "", "sealed with a different key"},
		{"NoKey", "", []string{keyed}, 1, "", "no key was given"},
		{"KeyOnUnkeyedTrail", testKeyA, []string{unkeyed}, 1, "", "no entry is sealed with a key"},
		{"ConfigAndEnvDiffer", testKeyB, []string{"--config", config, keyed}, 2, "", "hold different audit keys"},
		{"ShortKey", "short", []string{keyed}, 2, "", "at least 16 are needed"},
		{"MissingKeyFile", "", []string{"--key-file", filepath.Join(dir, "none"), keyed}, 2, "", "cannot read the audit key"},
		{"BadAnchor", "", []string{"--anchor", "3:abc", unkeyed}, 2, "", "expected SEQ:HASH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MODELGATE_AUDIT_KEY", tt.env)
			code, stdout, stderr := runCLI(t, append([]string{"audit", "verify"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.out) || !strings.Contains(stderr, tt.errmsg) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.code, tt.out, tt.errmsg)
			}
		})
	}
}

// -o json prints the report, also when the trail is broken.
func TestAuditVerify_JSON(t *testing.T) {
	path := mustAuditTrail(t, 3, testKeyA)
	t.Setenv("MODELGATE_AUDIT_KEY", testKeyA)
	data, _ := os.ReadFile(path)
	mustWriteFile(t, path, strings.Replace(string(data), `"outcome":"ok"`, `"outcome":"no"`, 1))
	code, stdout, _ := runCLI(t, "audit", "verify", "-o", "json", path)
	var got struct {
		OK      bool     `json:"ok"`
		Entries int      `json:"entries"`
		Keyed   int      `json:"keyed"`
		KeyIDs  []string `json:"key_ids"`
		Problem struct {
			Seq  int64
			Kind string
		}
		Error struct{ Code string }
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if code != 1 || got.OK || got.Entries != 0 || got.Problem.Seq != 1 || got.Problem.Kind != audit.KindEdited || got.Error.Code != modelgate.EINVALID {
		t.Fatalf("exit %d, %+v", code, got)
	}
}

// An anchor taken with `audit head` finds a rewrite by someone holding the key.
func TestAuditVerify_Anchor(t *testing.T) {
	path := mustAuditTrail(t, 3, testKeyA)
	t.Setenv("MODELGATE_AUDIT_KEY", testKeyA)
	code, anchor, stderr := runCLI(t, "audit", "head", path)
	if code != 0 {
		t.Fatalf("audit head exit %d: %s", code, stderr)
	}
	anchor = strings.TrimSpace(anchor)
	if code, stdout, _ := runCLI(t, "audit", "verify", "--anchor", anchor, path); code != 0 || !strings.Contains(stdout, "1 anchor(s) match") {
		t.Fatalf("verify with a good anchor: exit %d, %q", code, stdout)
	}
	rewritten := mustAuditTrail(t, 3, testKeyA) // same content, other times: other hashes
	t.Setenv("MODELGATE_AUDIT_KEY", testKeyA)
	code, _, stderr = runCLI(t, "audit", "verify", "--anchor", anchor, rewritten)
	if code != 1 || !strings.Contains(stderr, "entry 3 (line 3): the hash differs from the anchor") {
		t.Fatalf("verify of a rewritten trail: exit %d, %q", code, stderr)
	}
}

func TestAuditRotateKey(t *testing.T) {
	dir := t.TempDir()
	mustWriteFile(t, filepath.Join(dir, "a.key"), testKeyA)
	keyFileB := mustWriteFile(t, filepath.Join(dir, "b.key"), testKeyB)
	config := mustWriteFile(t, filepath.Join(dir, "modelgate.yaml"), "records:\n  audit: audit.jsonl\n  audit_key_file: a.key\n")
	t.Setenv("MODELGATE_AUDIT_KEY", "")
	l, _ := audit.Open(filepath.Join(dir, "audit.jsonl"))
	l.Key = []byte(testKeyA)
	if _, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "--config", config, "audit", "rotate-key", "--new-key-file", keyFileB, "--reason", "test")
	if code != 0 || !strings.Contains(stdout, "entry 2 rotates the key from "+audit.KeyID([]byte(testKeyA))+" to "+audit.KeyID([]byte(testKeyB))) {
		t.Fatalf("rotate-key: exit %d, %q, %q", code, stdout, stderr)
	}
	mustWriteFile(t, filepath.Join(dir, "a.key"), testKeyB) // the operator configures the new key
	l.Key = []byte(testKeyB)
	if _, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	oldKey := mustWriteFile(t, filepath.Join(dir, "old.key"), testKeyA)
	trail := filepath.Join(dir, "audit.jsonl")
	if code, stdout, stderr := runCLI(t, "--config", config, "audit", "verify", "--key-file", oldKey, trail); code != 0 {
		t.Fatalf("verify after rotation: exit %d, %q, %q", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", config, "audit", "verify", trail); code != 1 || !strings.Contains(stderr, "give the earlier keys too") {
		t.Fatalf("verify without the old key: exit %d, %q", code, stderr)
	}
}
