package mlflow

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Options configure a Registry. The zero value of every field but URI means
// the default named on it; OptionsFromEnv fills the MLflow client variables.
type Options struct {
	// URI is the tracking server's base URL, with any path prefix
	// (https://mlflow.example.com/team-a). Required.
	URI string
	// Username and Password are sent as HTTP basic auth when Username is set;
	// otherwise Token, when set, as a bearer token (MLflow's own precedence).
	Username, Password string
	Token              string
	// Headers are added to every request (e.g. X-MLFLOW-WORKSPACE).
	Headers map[string]string
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// Insecure skips TLS certificate verification. Never the default.
	Insecure bool
	// Timeout bounds one attempt of one call; default 30s. Downloads of a
	// single artifact file get ten times as long.
	Timeout time.Duration
	// Retries is how many times an idempotent call is repeated after a
	// transient failure (5xx, 429, timeout, refused connection); default 4,
	// negative for none.
	Retries int
	// Backoff is the wait before the first retry, doubled each time up to
	// 5s, with jitter; default 250ms.
	Backoff time.Duration
	// Experiment is the experiment CreateVersion logs its runs into;
	// default "modelgate".
	Experiment string

	// PublicKeys are PEM public keys (ECDSA P-256/384/521) that may have
	// signed a model with OpenSSF model-signing (key-based mode). When set,
	// a version whose artifact carries SignatureFile must verify against
	// one of them.
	PublicKeys []string
	// RequireSignature makes an artifact without SignatureFile fail
	// verification. It requires PublicKeys.
	RequireSignature bool
	// SignatureFile is the signature's path inside the model directory;
	// default "model.sig" (model_signing's default).
	SignatureFile string

	// HTTPClient replaces the client built from CAFile, Insecure and
	// Timeout (tests).
	HTTPClient *http.Client
	// Logger hears about every retry, so a person waiting on a slow or
	// frozen MLflow sees why; nil discards.
	Logger *slog.Logger
}

// OptionsFromEnv returns Options read from the variables MLflow's Python
// client uses: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN,
// MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH.
// Configuration from a file should override only what it sets.
func OptionsFromEnv() Options {
	insecure, _ := strconv.ParseBool(os.Getenv("MLFLOW_TRACKING_INSECURE_TLS"))
	return Options{
		URI:      os.Getenv("MLFLOW_TRACKING_URI"),
		Username: os.Getenv("MLFLOW_TRACKING_USERNAME"),
		Password: os.Getenv("MLFLOW_TRACKING_PASSWORD"),
		Token:    os.Getenv("MLFLOW_TRACKING_TOKEN"),
		CAFile:   os.Getenv("MLFLOW_TRACKING_SERVER_CERT_PATH"),
		Insecure: insecure,
	}
}

func (o *Options) setDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 4
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.Experiment == "" {
		o.Experiment = "modelgate"
	}
	if o.SignatureFile == "" {
		o.SignatureFile = "model.sig"
	}
}

// baseURL checks URI and returns it without a trailing slash.
func (o *Options) baseURL() (*url.URL, error) {
	if o.URI == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "no MLflow tracking URI: set registry.uri or MLFLOW_TRACKING_URI")
	}
	u, err := url.Parse(o.URI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "MLflow tracking URI %q: expected http(s)://host[:port][/prefix]", o.URI)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "MLflow tracking URI %q: must not carry a query or fragment", o.URI)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// httpClient builds the client from CAFile and Insecure. Per-attempt
// deadlines come from contexts, so the client itself has no timeout.
func (o *Options) httpClient() (*http.Client, error) {
	if o.HTTPClient != nil {
		return o.HTTPClient, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // explicit switch
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "read the MLflow CA bundle: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, modelgate.Errorf(modelgate.EINVALID, "MLflow CA bundle %s holds no PEM certificate", o.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

func (o *Options) authHeader() string {
	switch {
	case o.Username != "":
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(o.Username, o.Password)
		return r.Header.Get("Authorization")
	case o.Token != "":
		return "Bearer " + o.Token
	}
	return ""
}

func (o *Options) validate() error {
	if o.RequireSignature && len(o.PublicKeys) == 0 {
		return modelgate.Errorf(modelgate.EINVALID, "require_signature needs at least one public key to verify with")
	}
	if strings.Contains(o.SignatureFile, "..") || strings.HasPrefix(o.SignatureFile, "/") {
		return modelgate.Errorf(modelgate.EINVALID, "signature file %q must be a path inside the model directory", o.SignatureFile)
	}
	return nil
}
