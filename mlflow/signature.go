package mlflow

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
)

// OpenSSF model signing (github.com/sigstore/model-transparency, the
// model_signing package), key-based mode: a Sigstore bundle whose DSSE
// envelope holds an in-toto statement listing every file's SHA-256, signed
// with an ECDSA key over DSSE's pre-authentication encoding.
const (
	bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"
	inTotoPayloadType     = "application/vnd.in-toto+json"
	inTotoStatementType   = "https://in-toto.io/Statement/v1"
	modelSigningPredicate = "https://model_signing/signature/v1.0"
)

// Signature is what a verified model-signing signature establishes.
type Signature struct {
	File       string `json:"file"`        // the signature's path in the model directory
	KeyFile    string `json:"key_file"`    // the configured public key it verified against
	KeyHint    string `json:"key_hint"`    // sha256 of that key's PEM, as the bundle names it
	Subject    string `json:"subject"`     // the model name the signer recorded
	RootDigest string `json:"root_digest"` // sha256 over the signed file digests
	Files      int    `json:"files"`       // files covered
}

// PublicKey is a model-signing verification key (ECDSA P-256/384/521).
type PublicKey struct {
	File string // where it was read from
	Hint string // hex sha256 of its SubjectPublicKeyInfo PEM: model_signing's key hint
	key  *ecdsa.PublicKey
}

func loadPublicKeys(files []string) ([]PublicKey, error) {
	var keys []PublicKey
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "read public key: %v", err)
		}
		k, err := parsePublicKey(b)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "public key %s: %v", f, err)
		}
		k.File = f
		keys = append(keys, k)
	}
	return keys, nil
}

func parsePublicKey(b []byte) (PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return PublicKey{}, fmt.Errorf("expected a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return PublicKey{}, err
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return PublicKey{}, fmt.Errorf("a %T key; model signing's key mode uses ECDSA P-256, P-384 or P-521", k)
	}
	if _, err := curveHash(ec); err != nil {
		return PublicKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(ec)
	if err != nil {
		return PublicKey{}, err
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return PublicKey{key: ec, Hint: hex.EncodeToString(sum[:])}, nil
}

// curveHash is the digest model_signing pairs with each curve.
func curveHash(k *ecdsa.PublicKey) (crypto.Hash, error) {
	switch k.Curve {
	case elliptic.P256():
		return crypto.SHA256, nil
	case elliptic.P384():
		return crypto.SHA384, nil
	case elliptic.P521():
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
}

// verifySignatureIfConfigured applies Options.PublicKeys and
// RequireSignature to a downloaded model directory.
func (r *Registry) verifySignatureIfConfigured(dir, ref string) error {
	if len(r.keys) == 0 {
		return nil
	}
	_, err := VerifySignature(dir, r.opts.SignatureFile, r.keys, r.opts.RequireSignature)
	if err != nil {
		return fmt.Errorf("verify the signature of %s: %w", ref, err)
	}
	return nil
}

// LoadPublicKeys reads PEM public keys for VerifySignature.
func LoadPublicKeys(files ...string) ([]PublicKey, error) { return loadPublicKeys(files) }

// VerifySignature checks the model-signing signature at dir/file against
// keys: the bundle's signature, then every file of dir (except the
// signature and the paths the signer ignored) against the signed digests,
// with no file missing or added. Without a signature file it returns nil,
// nil unless require is set. Failures are EINVALID and name the file or
// key at fault.
func VerifySignature(dir, file string, keys []PublicKey, require bool) (*Signature, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if os.IsNotExist(err) {
		if require {
			return nil, modelgate.Errorf(modelgate.EINVALID, "the artifact has no model-signing signature (%s) and signatures are required", file).
				WithHint("sign the model directory with `model_signing sign key --private_key KEY --signature %s DIR` before registering it", file)
		}
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	payload, key, err := verifyBundle(b, keys)
	if err != nil {
		return nil, invalidSignature(file, err)
	}
	st, err := parseStatement(payload)
	if err != nil {
		return nil, invalidSignature(file, err)
	}
	if err := st.checkFiles(dir, file); err != nil {
		return nil, invalidSignature(file, err)
	}
	return &Signature{File: file, KeyFile: key.File, KeyHint: key.Hint, Subject: st.Subject[0].Name,
		RootDigest: st.Subject[0].Digest["sha256"], Files: len(st.Predicate.Resources)}, nil
}

func invalidSignature(file string, err error) error {
	return &modelgate.Error{Code: modelgate.EINVALID, Err: err,
		Message: fmt.Sprintf("model signature %s does not verify: %v", file, err),
		Hint:    "the artifact was changed after signing, or signed with a key that is not configured; do not deploy it"}
}

type bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate          json.RawMessage `json:"certificate"`
		X509CertificateChain json.RawMessage `json:"x509CertificateChain"`
	} `json:"verificationMaterial"`
	DSSEEnvelope *struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

// verifyBundle checks the DSSE signature and returns the signed payload and
// the key that verified it.
func verifyBundle(b []byte, keys []PublicKey) ([]byte, PublicKey, error) {
	var bd bundle
	if err := json.Unmarshal(b, &bd); err != nil {
		return nil, PublicKey{}, fmt.Errorf("not a Sigstore bundle: %v", err)
	}
	switch {
	case !strings.HasPrefix(bd.MediaType, bundleMediaTypePrefix):
		return nil, PublicKey{}, fmt.Errorf("media type %q is not a Sigstore bundle", bd.MediaType)
	case bd.DSSEEnvelope == nil || len(bd.DSSEEnvelope.Signatures) == 0:
		return nil, PublicKey{}, fmt.Errorf("the bundle has no signed DSSE envelope")
	case bd.DSSEEnvelope.PayloadType != inTotoPayloadType:
		return nil, PublicKey{}, fmt.Errorf("payload type %q, want %s", bd.DSSEEnvelope.PayloadType, inTotoPayloadType)
	case bd.VerificationMaterial.PublicKey == nil:
		return nil, PublicKey{}, fmt.Errorf("the bundle is not key-based (Sigstore certificate or keyless signatures are not supported)")
	}
	payload, err := base64.StdEncoding.DecodeString(bd.DSSEEnvelope.Payload)
	if err != nil {
		return nil, PublicKey{}, fmt.Errorf("payload: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(bd.DSSEEnvelope.Signatures[0].Sig)
	if err != nil {
		return nil, PublicKey{}, fmt.Errorf("signature encoding: %v", err)
	}
	candidates := keys
	if hint := bd.VerificationMaterial.PublicKey.Hint; hint != "" {
		candidates = nil
		for _, k := range keys {
			if k.Hint == hint {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			return nil, PublicKey{}, fmt.Errorf("it was made with a key that is not configured (key hint %s)", hint)
		}
	}
	pae := fmt.Appendf(nil, "DSSEv1 %d %s %d ", len(inTotoPayloadType), inTotoPayloadType, len(payload))
	pae = append(pae, payload...)
	for _, k := range candidates {
		h, _ := curveHash(k.key)
		d := h.New()
		d.Write(pae)
		if ecdsa.VerifyASN1(k.key, d.Sum(nil), sig) {
			return payload, k, nil
		}
	}
	return nil, PublicKey{}, fmt.Errorf("the signature does not verify against the configured public keys")
}

type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Serialization struct {
			Method      string   `json:"method"`
			HashType    string   `json:"hash_type"`
			IgnorePaths []string `json:"ignore_paths"`
		} `json:"serialization"`
		Resources []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	} `json:"predicate"`
}

// parseStatement checks the statement's shape and that its subject digest
// is the SHA-256 over the listed file digests, in order.
func parseStatement(payload []byte) (*statement, error) {
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("signed statement: %v", err)
	}
	ser := st.Predicate.Serialization
	switch {
	case st.Type != inTotoStatementType:
		return nil, fmt.Errorf("statement type %q, want %s", st.Type, inTotoStatementType)
	case st.PredicateType != modelSigningPredicate:
		return nil, fmt.Errorf("predicate type %q, want %s", st.PredicateType, modelSigningPredicate)
	case len(st.Subject) != 1:
		return nil, fmt.Errorf("expected one subject, got %d", len(st.Subject))
	case ser.Method != "files" || ser.HashType != "sha256":
		return nil, fmt.Errorf("serialization %s/%s is not supported (want files/sha256)", ser.Method, ser.HashType)
	}
	root := sha256.New()
	for _, res := range st.Predicate.Resources {
		d, err := hex.DecodeString(res.Digest)
		if err != nil || res.Algorithm != "sha256" || len(d) != sha256.Size {
			return nil, fmt.Errorf("resource %q has a malformed %s digest", res.Name, res.Algorithm)
		}
		root.Write(d)
	}
	if got := hex.EncodeToString(root.Sum(nil)); got != st.Subject[0].Digest["sha256"] {
		return nil, fmt.Errorf("the statement is inconsistent: its files hash to %s, its subject says %s", got, st.Subject[0].Digest["sha256"])
	}
	return &st, nil
}

// checkFiles compares dir with the signed file list.
func (st *statement) checkFiles(dir, sigFile string) error {
	ignored := append([]string{sigFile}, st.Predicate.Serialization.IgnorePaths...)
	skip := func(rel string) bool {
		for _, ig := range ignored {
			ig = strings.Trim(filepath.ToSlash(ig), "/")
			if rel == ig || strings.HasPrefix(rel, ig+"/") {
				return true
			}
		}
		return false
	}
	want := map[string]string{}
	for _, res := range st.Predicate.Resources {
		want[res.Name] = res.Digest
	}
	var problems []string
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || skip(p) {
			return err
		}
		if !d.Type().IsRegular() {
			problems = append(problems, p+" is not a regular file")
			return nil
		}
		w, ok := want[p]
		if !ok {
			problems = append(problems, p+" is not covered by the signature")
			return nil
		}
		delete(want, p)
		got, err := fileDigest(fsys, p)
		if err != nil {
			return err
		}
		if got != w {
			problems = append(problems, p+" does not match its signed digest")
		}
		return nil
	})
	if err != nil {
		return err
	}
	for p := range want {
		problems = append(problems, p+" is signed but missing")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func fileDigest(fsys fs.FS, p string) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
