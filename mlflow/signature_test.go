package mlflow_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlflow"
	"github.com/modelgate/modelgate/modelgatetest"
)

// keyPair writes a fresh ECDSA key pair as PEM files and returns their paths.
func keyPair(t testing.TB, curve elliptic.Curve) (private, public string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	private, public = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	mustWrite(t, private, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	mustWrite(t, public, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	return private, public
}

func mustWrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// sign signs dir in place with the real model_signing CLI (key mode),
// writing dir/model.sig.
func sign(t testing.TB, venvDir, privateKey, dir string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(venvDir, "bin", "model_signing"), "sign", "key",
		"--private_key", privateKey, "--signature", filepath.Join(dir, "model.sig"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("model_signing sign: %v\n%s", err, out)
	}
}

func mustKeys(t testing.TB, files ...string) []mlflow.PublicKey {
	t.Helper()
	keys, err := mlflow.LoadPublicKeys(files...)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestVerifySignature(t *testing.T) {
	v := modelgatetest.MLflowVenv(t)
	private, public := keyPair(t, elliptic.P256())
	_, otherPublic := keyPair(t, elliptic.P256())
	p384, p384Public := keyPair(t, elliptic.P384())

	signed := modelgatetest.MustModelDir(t, "signed")
	sign(t, v, private, signed)
	signed384 := modelgatetest.MustModelDir(t, "signed-384")
	sign(t, v, p384, signed384)

	got, err := mlflow.VerifySignature(signed, "model.sig", mustKeys(t, otherPublic, public), true)
	if err != nil {
		t.Fatalf("VerifySignature(signed): %v", err)
	}
	if got.KeyFile != public || got.Files != 4 || got.Subject == "" {
		t.Errorf("VerifySignature = %+v; want key %s and 4 files", got, public)
	}
	if _, err := mlflow.VerifySignature(signed384, "model.sig", mustKeys(t, p384Public), true); err != nil {
		t.Errorf("VerifySignature(P-384): %v", err)
	}

	tests := []struct {
		name    string
		dir     func() string
		keys    []string
		require bool
		want    string // in the message
	}{
		{"wrong key", func() string { return signed }, []string{otherPublic}, false, "key that is not configured"},
		{"tampered file", func() string {
			d := copyDir(t, signed)
			mustWrite(t, filepath.Join(d, "model.pkl"), []byte("tampered weights"))
			return d
		}, []string{public}, false, "model.pkl does not match its signed digest"},
		{"added file", func() string {
			d := copyDir(t, signed)
			mustWrite(t, filepath.Join(d, "code", "backdoor.py"), []byte("import os"))
			return d
		}, []string{public}, false, "code/backdoor.py is not covered by the signature"},
		{"removed file", func() string {
			d := copyDir(t, signed)
			if err := os.Remove(filepath.Join(d, "requirements.txt")); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{public}, false, "requirements.txt is signed but missing"},
		{"forged signature", func() string {
			d := copyDir(t, signed)
			forgeSignature(t, filepath.Join(d, "model.sig"))
			return d
		}, []string{public}, false, "does not verify"},
		{"unsigned, required", func() string { return modelgatetest.MustModelDir(t, "unsigned") }, []string{public}, true, "has no model-signing signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mlflow.VerifySignature(tt.dir(), "model.sig", mustKeys(t, tt.keys...), tt.require)
			if code := modelgate.ErrorCode(err); code != modelgate.EINVALID {
				t.Fatalf("error %v (code %q), want %s", err, code, modelgate.EINVALID)
			}
			if msg := modelgate.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	if s, err := mlflow.VerifySignature(modelgatetest.MustModelDir(t, "unsigned"), "model.sig", mustKeys(t, public), false); s != nil || err != nil {
		t.Errorf("unsigned, not required = %v, %v; want nil, nil", s, err)
	}
}

// forgeSignature flips one bit of the bundle's DSSE signature.
func forgeSignature(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	sigs := bundle["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	entry := sigs[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(entry["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	entry["sig"] = base64.StdEncoding.EncodeToString(raw)
	out, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, path, out)
}

func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}
