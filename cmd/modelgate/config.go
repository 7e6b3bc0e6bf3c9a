package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/promotion"
)

// Config is modelgate.yaml. Every field has the playbook's default; see
// defaultConfig and the README's configuration reference.
type Config struct {
	Model         string              `yaml:"model"`
	Registry      RegistryConfig      `yaml:"registry"`
	Platform      PlatformConfig      `yaml:"platform"`
	State         StateConfig         `yaml:"state"`
	Canary        CanaryConfig        `yaml:"canary"`
	Thresholds    ThresholdsConfig    `yaml:"thresholds"`
	Judge         JudgeConfig         `yaml:"judge"`
	Metrics       MetricsConfig       `yaml:"metrics"`
	Payload       PayloadConfig       `yaml:"payload"`
	Actuals       ActualsConfig       `yaml:"actuals"`
	Notify        NotifyConfig        `yaml:"notify"`
	Staging       StagingConfig       `yaml:"staging"`
	Smoke         SmokeConfig         `yaml:"smoke"`
	Evaluation    EvaluationConfig    `yaml:"evaluation"`
	Preconditions PreconditionsConfig `yaml:"preconditions"`
	Records       RecordsConfig       `yaml:"records"`
	Server        ServerConfig        `yaml:"server" json:"-"` // not part of a promotion's configuration hash
	Alerts        AlertsConfig        `yaml:"alerts"`
	Bake          BakeConfig          `yaml:"bake"`
	Incidents     IncidentsConfig     `yaml:"incidents"`

	dir  string // the config file's directory; relative paths are relative to it
	file string // the file read; "" when none was found and the defaults apply
}

type RegistryConfig struct {
	Type      string        `yaml:"type"`      // local or mlflow
	Path      string        `yaml:"path"`      // local: directory of registry.db and artifacts/
	Promotion string        `yaml:"promotion"` // stage or alias; default stage for local, alias for mlflow
	Aliases   AliasesConfig `yaml:"aliases"`   // alias mode's aliases

	// mlflow: credentials come from MLFLOW_TRACKING_USERNAME/PASSWORD or
	// MLFLOW_TRACKING_TOKEN, never from this file.
	URI              string   `yaml:"uri"`               // default $MLFLOW_TRACKING_URI
	CAFile           string   `yaml:"ca_file"`           // PEM bundle trusted besides the system roots
	Insecure         bool     `yaml:"insecure"`          // skip TLS verification (explicit only)
	Experiment       string   `yaml:"experiment"`        // where `registry register` logs runs
	PublicKeys       []string `yaml:"public_keys"`       // PEM keys for OpenSSF model-signing signatures
	RequireSignature bool     `yaml:"require_signature"` // an unsigned artifact fails verification
	SignatureFile    string   `yaml:"signature_file"`    // default model.sig
}

type AliasesConfig struct {
	Candidate string `yaml:"candidate"`
	Champion  string `yaml:"champion"`
	Previous  string `yaml:"previous"`
}

type PlatformConfig struct {
	Type     string                    `yaml:"type"`     // local
	Listen   string                    `yaml:"listen"`   // local: the gateway's address
	State    string                    `yaml:"state"`    // local: file where `serve` keeps what it serves
	External map[string]ExternalConfig `yaml:"external"` // local: models served by an external server, by model name
	// local: a Python with mlflow installed (e.g. /opt/mlflow-venv/bin/python;
	// relative to this file if it has a slash) that serves, with MLflow's
	// scoring server, versions whose flavor modelgate does not serve
	// natively; "" refuses them.
	MLflowPython string `yaml:"mlflow_python"`

	// local: the admin API's own listener (host:port or a unix socket
	// path), and where its bearer token comes from (see adminTokenSource).
	AdminListen      string `yaml:"admin_listen"`
	AdminTokenFile   string `yaml:"admin_token_file"`
	AdminTokenEnv    string `yaml:"admin_token_env"`
	AllowNonLoopback bool   `yaml:"allow_non_loopback"` // local: listen beyond loopback, on purpose

	// local: the data plane's limits (gateway.Options); 0 takes the
	// gateway's default.
	MaxBodyBytes   int64    `yaml:"max_body_bytes"`
	MaxInstances   int      `yaml:"max_instances"`
	MaxConcurrent  int      `yaml:"max_concurrent"`
	RequestTimeout Duration `yaml:"request_timeout"`
	// local: keep the data plane's thread polling the network this long
	// after each event (gateway.Options.BusyPoll); 0, the default, sleeps.
	BusyPoll Duration `yaml:"busy_poll"`

	// kserve: its keys (kubeconfig, context, namespaces, model_format,
	// storage_uri, …) sit directly under platform.
	KServe KServeConfig `yaml:",inline"`
}

// KServeConfig is platform's keys for type kserve; kserveOptions turns it
// into kserve.Options, whose fields say what each one does. Zero values
// take the kserve package's defaults.
type KServeConfig struct {
	Kubeconfig          string             `yaml:"kubeconfig"`
	Context             string             `yaml:"context"`
	StagingNamespace    string             `yaml:"staging_namespace"`
	ProductionNamespace string             `yaml:"production_namespace"`
	Name                string             `yaml:"name"`
	ModelFormat         string             `yaml:"model_format"`
	ModelFormatVersion  string             `yaml:"model_format_version"`
	Runtime             string             `yaml:"runtime"`
	ProtocolVersion     string             `yaml:"protocol_version"`
	StorageURI          []StorageURIConfig `yaml:"storage_uri"`
	Resources           ResourcesConfig    `yaml:"resources"`
	ServiceAccount      string             `yaml:"service_account"`
	Logger              LoggerConfig       `yaml:"logger"`
	Labels              map[string]string  `yaml:"labels"`
	Annotations         map[string]string  `yaml:"annotations"`
	MinReplicas         *int64             `yaml:"min_replicas"`
	CanaryTimeout       Duration           `yaml:"canary_timeout"`
	PollInterval        Duration           `yaml:"poll_interval"`
	GitOpsDir           string             `yaml:"gitops_dir"`
	VirtualService      string             `yaml:"virtual_service"`
	LogTail             int                `yaml:"log_tail"`
	DeploymentMode      string             `yaml:"deployment_mode"` // serverless (default) or raw
	Route               RouteConfig        `yaml:"route"`           // raw mode's route
}

// RouteConfig is platform.route: the route modelgate owns in front of the
// stable and canary InferenceServices in raw mode (kserve.Route).
type RouteConfig struct {
	Kind      string   `yaml:"kind"`    // httproute (default)
	Name      string   `yaml:"name"`    // default "{name}-modelgate"
	Gateway   string   `yaml:"gateway"` // namespace/name of the parent Gateway
	Hostnames []string `yaml:"hostnames"`
	URL       string   `yaml:"url"` // the production URL users call
}

// StorageURIConfig is one rule of platform.storage_uri.
type StorageURIConfig struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

type ResourcesConfig struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

// LoggerConfig is platform.logger, KServe's payload logger.
type LoggerConfig struct {
	URL                 string   `yaml:"url"`
	Mode                string   `yaml:"mode"`
	MetadataHeaders     []string `yaml:"metadata_headers"`
	MetadataAnnotations []string `yaml:"metadata_annotations"`
}

// MetricsConfig names where canary and production figures come from: the
// local gateway measures itself; on KServe they come from Prometheus.
type MetricsConfig struct {
	Type       string           `yaml:"type"` // "" (the platform's own) or prometheus
	Prometheus PrometheusConfig `yaml:",inline"`
}

// PrometheusConfig is metrics' keys for type prometheus; prometheusOptions
// turns it into prometheus.Options.
type PrometheusConfig struct {
	URL      string      `yaml:"url"`
	Family   string      `yaml:"family"`
	Names    NamesConfig `yaml:"names"`
	Lookback Duration    `yaml:"lookback"`
}

// NamesConfig is metrics.names: overrides of the family's metric and label
// names (prometheus.Metrics).
type NamesConfig struct {
	Requests       string   `yaml:"requests"`
	Latency        string   `yaml:"latency"`
	LatencyUnit    string   `yaml:"latency_unit"`
	RevisionLabel  string   `yaml:"revision_label"`
	RevisionValue  string   `yaml:"revision_value"`
	NamespaceLabel string   `yaml:"namespace_label"`
	CodeLabel      string   `yaml:"code_label"`
	Matchers       []string `yaml:"matchers"`
}

// ExternalConfig serves a model's revisions through an external model server
// (an upstream URL, or a command modelgate starts on a port it chooses).
type ExternalConfig struct {
	URL             string   `yaml:"url"`     // a running server; or
	Command         []string `yaml:"command"` // argv; {port} {model_dir} {name} {version} are filled in
	Protocol        string   `yaml:"protocol"`
	Name            string   `yaml:"name"`
	ReadyTimeout    Duration `yaml:"ready_timeout"`
	MeasureFeatures bool     `yaml:"measure_features"`
}

type StateConfig struct {
	Dir string `yaml:"dir"` // promotion database (sqlite), artifact cache, admin token

	// Where promotions, locks and approvals are kept: sqlite (state.db in
	// Dir, for one host) or postgres (shared by every process on every
	// host that reaches it). The connection string comes from the
	// environment variable DSNEnv, never from this file, because it may
	// hold a password. Neither is part of the configuration hash: where
	// the state lives does not change how a promotion runs.
	Type   string `yaml:"type" json:"-"`
	DSNEnv string `yaml:"dsn_env" json:"-"`
}

type CanaryConfig struct {
	Percent        int      `yaml:"percent"`
	Window         Duration `yaml:"window"`
	Interval       Duration `yaml:"interval"`
	Extension      Duration `yaml:"extension"`
	MinRequests    int64    `yaml:"min_requests"`
	EarlyPromotion bool     `yaml:"early_promotion"`
	MirrorPercent  int      `yaml:"mirror_percent"` // local: stable requests also sent to the canary, for pairs
}

type ThresholdsConfig struct {
	ErrorRateMargin   float64  `yaml:"error_rate_margin"`
	LatencyP95Margin  Duration `yaml:"latency_p95_margin"`
	RelativeTolerance float64  `yaml:"relative_tolerance"`
	LatencyFloor      Duration `yaml:"latency_floor"`
}

// PayloadConfig is the CloudEvents sink for KServe's inference logger
// (platform kserve): predictions and features per version, by the version
// annotation the logger forwards.
type PayloadConfig struct {
	Listen            string   `yaml:"listen"` // "" = no receiver; set platform.logger.url to http://<this>/
	VersionAnnotation string   `yaml:"version_annotation"`
	TTL               Duration `yaml:"ttl"`
	MaxPending        int      `yaml:"max_pending"`
}

// ActualsConfig turns on POST /actuals: ground truth posted later by request
// id is joined to the predictions for the business-KPI check.
type ActualsConfig struct {
	Enabled        bool     `yaml:"enabled"`
	MaxPredictions int      `yaml:"max_predictions"`
	MaxAge         Duration `yaml:"max_age"`
}

// NotifyConfig announces promotions (started, promoted, rolled back, failed,
// held) by e-mail and webhooks, best-effort. Secrets come from environment
// variables named here, never from the file.
type NotifyConfig struct {
	Email    *EmailConfig    `yaml:"email"`
	Webhooks []WebhookConfig `yaml:"webhooks"`
}

type EmailConfig struct {
	Addr        string   `yaml:"addr"` // host:port
	StartTLS    bool     `yaml:"starttls"`
	CAFile      string   `yaml:"ca_file"`
	UsernameEnv string   `yaml:"username_env"`
	PasswordEnv string   `yaml:"password_env"`
	From        string   `yaml:"from"`
	To          []string `yaml:"to"`
	Timeout     Duration `yaml:"timeout"`
}

type WebhookConfig struct {
	URL     string   `yaml:"url"`
	URLEnv  string   `yaml:"url_env"`
	Format  string   `yaml:"format"` // json or slack
	Timeout Duration `yaml:"timeout"`
}

// JudgeConfig chooses and tunes the canary judge. The margins shared with the
// threshold judge live under thresholds.
type JudgeConfig struct {
	Type                string  `yaml:"type"` // sequential or thresholds
	Alpha               float64 `yaml:"alpha"`
	DecisionRule        string  `yaml:"decision_rule"` // playbook or strict
	StrictErrorMargin   bool    `yaml:"strict_error_margin"`
	PredictionTolerance float64 `yaml:"prediction_tolerance"`
	PredictionMargin    float64 `yaml:"prediction_margin"`
	FeatureMargin       float64 `yaml:"feature_margin"`
	PSIAlert            float64 `yaml:"psi_alert"`
	WassersteinAlert    float64 `yaml:"wasserstein_alert"`
	LInfAlert           float64 `yaml:"linf_alert"`
	MinDriftSamples     int64   `yaml:"min_drift_samples"`
	KPITolerance        float64 `yaml:"kpi_tolerance"`
	MinActuals          int64   `yaml:"min_actuals"`
	RequireKPI          bool    `yaml:"require_kpi"`
}

type StagingConfig struct {
	Timeout Duration `yaml:"timeout"`
}

type SmokeConfig struct {
	Requests  []map[string]any `yaml:"requests"`  // V1 request bodies; default from the input example
	Protocols []string         `yaml:"protocols"` // v1, v2
	Count     int              `yaml:"count"`
	Warmup    int              `yaml:"warmup"`
	P95Max    Duration         `yaml:"p95_max"`
	Min       *float64         `yaml:"min"` // bounds on every prediction; absent = unbounded
	Max       *float64         `yaml:"max"`
}

type EvaluationConfig struct {
	Dataset           string  `yaml:"dataset"` // CSV or Parquet, or artifact:<path>; "" skips the evaluation
	Target            string  `yaml:"target"`
	Segment           string  `yaml:"segment"`
	Task              string  `yaml:"task"` // regression or classification
	Threshold         float64 `yaml:"threshold"`
	Protocol          string  `yaml:"protocol"`
	BatchSize         int     `yaml:"batch_size"`
	Tolerance         float64 `yaml:"tolerance"`
	CompareProduction bool    `yaml:"compare_production"`
	RecentRequests    int     `yaml:"recent_requests"` // production's recent requests scored through both; 0 = none
}

type PreconditionsConfig struct {
	RequiredTags       []string `yaml:"required_tags"`
	RequiredApprovals  []string `yaml:"required_approvals"`
	AllowMissingDigest bool     `yaml:"allow_missing_digest"`
	// FourEyes: one person approves a version for one role only, and not a
	// version whose promotion they start (promotion.Policy.FourEyes).
	FourEyes         bool     `yaml:"four_eyes"`
	AuthorTag        string   `yaml:"author_tag"`         // version tag naming the author; "" turns the author rule off
	AuthorMayApprove bool     `yaml:"author_may_approve"` // the author may approve their own version
	ApprovalMaxAge   Duration `yaml:"approval_max_age"`   // older approvals no longer count; 0: never expire
	Monitoring       string   `yaml:"monitoring"`         // error, warn or off: a missing dashboard, alert rules or notifier
}

// AlertsConfig is the playbook's post-deployment alerts (step 8): the
// levels `modelgate alerts` writes into Prometheus rules, and the bake
// (judge.BakeRules) applies to the figures modelgate reads itself.
type AlertsConfig struct {
	ErrorRate       float64           `yaml:"error_rate"`
	LatencyP95      Duration          `yaml:"latency_p95"`
	DriftPSI        float64           `yaml:"drift_psi"`
	MinRequests     int64             `yaml:"min_requests"`
	MinDriftSamples int64             `yaml:"min_drift_samples"`
	For             Duration          `yaml:"for"`
	RateWindow      Duration          `yaml:"rate_window"`
	Severity        string            `yaml:"severity"`
	Labels          map[string]string `yaml:"labels"`      // on every alert (routing)
	RuleLabels      map[string]string `yaml:"rule_labels"` // on the PrometheusRule object (the Prometheus's ruleSelector)
}

// thresholds are the alert levels.
func (c AlertsConfig) thresholds() modelgate.AlertThresholds {
	return modelgate.AlertThresholds{ErrorRate: c.ErrorRate, LatencyP95: c.LatencyP95.D(), DriftPSI: c.DriftPSI,
		MinRequests: c.MinRequests, MinDriftSamples: c.MinDriftSamples}
}

type RecordsConfig struct {
	Audit     string `yaml:"audit"`
	Changelog string `yaml:"changelog"`
	Reports   string `yaml:"reports"`
	// The audit trail's HMAC key: a file, or an environment variable (named
	// here, default MODELGATE_AUDIT_KEY). Neither set: an unkeyed trail.
	AuditKeyFile string `yaml:"audit_key_file"`
	AuditKeyEnv  string `yaml:"audit_key_env"`
	PostMortems  string `yaml:"postmortems"` // post-mortem bundles of rollbacks
	// Links are URL templates of a promotion's links (pipeline, mlflow,
	// dashboard, pr, ticket); a version's link.<name> tag wins.
	Links map[string]string `yaml:"links"`
}

// ServerConfig is `modelgate server`: where it listens and whose bearer
// tokens it accepts (see serverTokens).
type ServerConfig struct {
	Listen        string `yaml:"listen"`          // host:port of the API, /metrics, /healthz, /readyz
	TokensFile    string `yaml:"tokens_file"`     // YAML: token -> {name, role}
	AdminTokenEnv string `yaml:"admin_token_env"` // a variable holding one admin token (name "admin")
	// LeaderElection, when set, makes replicas sharing the state elect one
	// leader through a Kubernetes Lease; only the leader runs promotions.
	LeaderElection *LeaderElectionConfig `yaml:"leader_election"`
}

// LeaderElectionConfig is server.leader_election: the Lease the replicas
// compete for and client-go's timings (0 takes the default).
type LeaderElectionConfig struct {
	Namespace     string   `yaml:"namespace"`      // the Lease's namespace, the server's own
	Name          string   `yaml:"name"`           // the Lease's name, e.g. modelgate-server
	Kubeconfig    string   `yaml:"kubeconfig"`     // "" loads as kubectl does, in the cluster its service account
	LeaseDuration Duration `yaml:"lease_duration"` // a standby takes over this long after the last renewal; default 15s
	RenewDeadline Duration `yaml:"renew_deadline"` // the leader stops leading when it cannot renew for this long; default 10s
	RetryPeriod   Duration `yaml:"retry_period"`   // how often candidates try and the leader renews; default 2s
}

// Duration is a time.Duration written as Go writes it ("30m", "90s").
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration: write it like 30m, 90s or 1h30m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func defaultConfig() *Config {
	return &Config{
		Registry: RegistryConfig{Type: "local", Path: "registry",
			Aliases: AliasesConfig{Candidate: "challenger", Champion: "champion", Previous: "previous"}},
		Platform: PlatformConfig{Type: "local", Listen: "127.0.0.1:8080", State: ".modelgate/gateway.json",
			AdminListen: "127.0.0.1:8081", AdminTokenEnv: "MODELGATE_ADMIN_TOKEN"},
		State: StateConfig{Dir: ".modelgate", Type: "sqlite", DSNEnv: "MODELGATE_POSTGRES_DSN"},
		Canary: CanaryConfig{Percent: 10, Window: Duration(30 * time.Minute), Interval: Duration(30 * time.Second),
			Extension: Duration(15 * time.Minute), MinRequests: 200, MirrorPercent: 10},
		Thresholds: ThresholdsConfig{ErrorRateMargin: 0.005, LatencyP95Margin: Duration(50 * time.Millisecond),
			RelativeTolerance: 0.05, LatencyFloor: Duration(10 * time.Millisecond)},
		Judge: JudgeConfig{Type: "sequential", Alpha: 0.05, DecisionRule: "playbook", PredictionTolerance: 0.05, PredictionMargin: 0.15, FeatureMargin: 0.025, PSIAlert: 0.2,
			WassersteinAlert: 0.1, LInfAlert: 0.1, MinDriftSamples: 1000, KPITolerance: 0.05, MinActuals: 200},
		Staging: StagingConfig{Timeout: Duration(5 * time.Minute)},
		Smoke:   SmokeConfig{Protocols: []string{"v1"}, Count: 50, Warmup: 5, P95Max: Duration(200 * time.Millisecond)},
		Evaluation: EvaluationConfig{Target: "units_sold", Task: "regression", Threshold: 0.5, Protocol: "v1",
			BatchSize: 100, Tolerance: 0.01, CompareProduction: true, RecentRequests: 500},
		Preconditions: PreconditionsConfig{RequiredTags: []string{"git_sha", "dataset_version", "approver"},
			RequiredApprovals: []string{"data_science_lead", "compliance_officer"}, AuthorTag: "author", ApprovalMaxAge: Duration(7 * 24 * time.Hour),
			Monitoring: "warn"},
		Records: RecordsConfig{Audit: ".modelgate/audit.jsonl", Changelog: "CHANGELOG.md", Reports: ".modelgate/reports", AuditKeyEnv: "MODELGATE_AUDIT_KEY",
			PostMortems: ".modelgate/postmortems"},
		Bake:      defaultBakeConfig(),
		Incidents: IncidentsConfig{PostMortemDue: Duration(24 * time.Hour)},
		Alerts: AlertsConfig{ErrorRate: 0.01, LatencyP95: Duration(300 * time.Millisecond), DriftPSI: 0.2, MinRequests: 100, MinDriftSamples: 1000,
			For: Duration(5 * time.Minute), RateWindow: Duration(5 * time.Minute), Severity: "page"},
		Server: ServerConfig{Listen: "127.0.0.1:8095", AdminTokenEnv: "MODELGATE_SERVER_ADMIN_TOKEN"},
		dir:    ".",
	}
}

// configError is a malformed config: exit code 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// loadConfig reads path over the defaults. A missing file is fine only when
// the user did not name it (explicit=false).
func loadConfig(path string, explicit bool) (*Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !explicit:
		return cfg, nil
	case err != nil:
		return nil, configErrorf("cannot read config %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, configErrorf("config %s: %s", path, explainYAML(err))
	}
	if bad := fractionalIntegers(data); len(bad) > 0 {
		return nil, configErrorf("config %s: %s", path, strings.Join(bad, "; "))
	}
	cfg.dir, cfg.file = filepath.Dir(path), path
	if err := cfg.validate(); err != nil {
		return nil, configErrorf("config %s: %v", path, err)
	}
	if err := checkJudgeKeys(data, cfg.Judge.Type); err != nil {
		return nil, configErrorf("config %s: %v", path, err)
	}
	return cfg, nil
}

// checkJudgeKeys refuses judge keys the chosen judge would ignore: a user
// who sets judge.alpha and runs the thresholds judge believes the canary is
// judged at that level when it is not. With judge.type thresholds only the
// type, prediction_tolerance (which the staging evaluation reads) and
// wasserstein_alert and linf_alert (the bake's drift alert levels) act.
func checkJudgeKeys(data []byte, judgeType string) error {
	if judgeType != "thresholds" {
		return nil
	}
	var doc struct {
		Judge map[string]any `yaml:"judge"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // the typed decode already accepted it; nothing more to say
	}
	var ignored []string
	for k := range doc.Judge {
		if !slices.Contains([]string{"type", "prediction_tolerance", "wasserstein_alert", "linf_alert"}, k) {
			ignored = append(ignored, "judge."+k)
		}
	}
	if len(ignored) == 0 {
		return nil
	}
	slices.Sort(ignored)
	return fmt.Errorf("%s: judge.type is thresholds, which ignores these keys (they tune the sequential judge); remove them or set judge.type: sequential (the thresholds judge is tuned under thresholds:)",
		strings.Join(ignored, ", "))
}

// yaml.v3's wording of an unknown key and of a value of the wrong kind:
// "field windw not found in type main.CanaryConfig", "cannot unmarshal
// !!str `abc` into int64". A value is quoted as yaml.v3 shortens it; it
// and a tag may hold spaces and newlines.
var (
	yamlUnknownKey = regexp.MustCompile(` not found in type main\.(\w*)`)
	yamlWrongKind  = regexp.MustCompile("(?s)cannot unmarshal (!.*?)( `.*?`)? into (\\*?(?:\\[\\]|map\\[\\w+\\])*(?:interface \\{\\}|[\\w.]+))")
)

// explainYAML turns yaml.v3's Go-type wording into the config's words, on
// every line of the error.
func explainYAML(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
	s = yamlUnknownKey.ReplaceAllStringFunc(s, func(m string) string {
		typ := strings.TrimSuffix(yamlUnknownKey.FindStringSubmatch(m)[1], "Config")
		return fmt.Sprintf(" is not a known key of %s (see the README's configuration reference)", keyOf(typ))
	})
	return yamlWrongKind.ReplaceAllStringFunc(s, func(m string) string {
		sub := yamlWrongKind.FindStringSubmatch(m)
		return fmt.Sprintf("expected %s, not %s", yamlForm(sub[3]), yamlValue(sub[1], sub[2]))
	})
}

// yamlForm says what a value of Go type typ is written as.
func yamlForm(typ string) string {
	typ = strings.TrimPrefix(typ, "*")
	switch {
	case strings.HasPrefix(typ, "[]"):
		return "a list"
	case strings.HasPrefix(typ, "map["):
		return "a mapping"
	case strings.HasPrefix(typ, "main."):
		return "the keys of " + keyOf(strings.TrimSuffix(strings.TrimPrefix(typ, "main."), "Config"))
	case strings.HasPrefix(typ, "int"), strings.HasPrefix(typ, "uint"):
		return "an integer"
	case strings.HasPrefix(typ, "float"):
		return "a number"
	case typ == "bool":
		return "true or false"
	case typ == "string":
		return "a single value"
	}
	return "another kind of value"
}

// yamlValue describes a value yaml.v3 names by its tag and (for scalars) its
// quoted text.
func yamlValue(tag, quoted string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!str":
		return "the text" + quoted
	case "!!int", "!!float":
		return "the number" + quoted
	}
	if strings.Trim(quoted, " `") == "" {
		return "what is written there"
	}
	return strings.TrimPrefix(quoted, " ")
}

// keyOf turns a config type's name into its key: StorageURI is storage_uri.
func keyOf(typ string) string {
	if typ == "" {
		return "the top level"
	}
	var b strings.Builder
	for i, r := range typ {
		if i > 0 && unicode.IsUpper(r) && unicode.IsLower(rune(typ[i-1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// checkRawMetrics matches metrics.family to platform.deployment_mode raw,
// whose predictors are plain Deployments without Knative's queue-proxy:
// the family defaults to istio-raw there, and a Knative family is an
// error.
func (c *Config) checkRawMetrics() []string {
	if c.Platform.KServe.DeploymentMode != kserve.ModeRaw || c.Metrics.Type != "prometheus" {
		return nil
	}
	switch c.Metrics.Prometheus.Family {
	case "":
		c.Metrics.Prometheus.Family = "istio-raw"
	case "knative", "knative-otel":
		return []string{fmt.Sprintf("metrics.family: %s reads Knative's per-revision series, which platform.deployment_mode raw does not have "+
			"(its predictors are plain Deployments); use istio-raw (Istio's metrics by Deployment) or leave it out", c.Metrics.Prometheus.Family)}
	}
	return nil
}

// validate checks ranges and names the key and the expected form.
func (c *Config) validate() error {
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	check(c.Registry.Type == "local" || c.Registry.Type == "mlflow", "registry.type: %q is not supported; expected local or mlflow", c.Registry.Type)
	check(c.Registry.Type != "local" || c.Registry.Path != "", "registry.path: expected the registry directory, e.g. ./registry")
	check(c.Registry.Type != "mlflow" || c.Registry.URI != "" || os.Getenv("MLFLOW_TRACKING_URI") != "", "registry.uri: expected the MLflow tracking URI, e.g. http://mlflow:5000 (or set MLFLOW_TRACKING_URI)")
	check(c.Registry.Type == "mlflow" || (!c.Registry.RequireSignature && len(c.Registry.PublicKeys) == 0),
		"registry.require_signature, registry.public_keys: signatures are verified for registry.type mlflow only")
	check(!c.Actuals.Enabled || c.Platform.Type == "local" || c.Payload.Listen != "",
		"actuals.enabled: on platform kserve, actuals are received on payload.listen; set it")
	check(!c.Registry.RequireSignature || len(c.Registry.PublicKeys) > 0, "registry.require_signature: needs registry.public_keys, the PEM files of the keys that may sign models")
	if c.Registry.Promotion == "" {
		c.Registry.Promotion = map[string]string{"mlflow": "alias"}[c.Registry.Type]
		if c.Registry.Promotion == "" {
			c.Registry.Promotion = "stage"
		}
	}
	check(c.Registry.Promotion == "stage" || c.Registry.Promotion == "alias", "registry.promotion: expected stage or alias, got %q", c.Registry.Promotion)
	a := c.Registry.Aliases
	check(a.Candidate != "" && a.Champion != "" && a.Previous != "" && a.Candidate != a.Champion && a.Champion != a.Previous && a.Candidate != a.Previous,
		"registry.aliases: expected three different names for candidate, champion and previous")
	check(c.State.Type == "sqlite" || c.State.Type == "postgres", "state.type: %q is not supported; expected sqlite or postgres", c.State.Type)
	check(c.State.Type != "postgres" || c.State.DSNEnv != "", "state.dsn_env: expected the name of the environment variable holding the PostgreSQL connection string, e.g. MODELGATE_POSTGRES_DSN")
	check(c.Platform.Type == "local" || c.Platform.Type == "kserve", "platform.type: %q is not supported; expected local or kserve", c.Platform.Type)
	check(c.Platform.Type != "local" || strings.Contains(c.Platform.Listen, ":"), "platform.listen: expected host:port, e.g. 127.0.0.1:8080, got %q", c.Platform.Listen)
	check(c.Platform.Type != "local" || strings.ContainsAny(c.Platform.AdminListen, ":/") && c.Platform.AdminListen != c.Platform.Listen,
		"platform.admin_listen: expected host:port other than platform.listen, e.g. 127.0.0.1:8081, or a unix socket path, got %q", c.Platform.AdminListen)
	check(c.Platform.MaxBodyBytes >= 0 && c.Platform.MaxInstances >= 0 && c.Platform.MaxConcurrent >= 0 && c.Platform.RequestTimeout >= 0,
		"platform.max_body_bytes, max_instances, max_concurrent, request_timeout: expected values ≥ 0 (0 takes the default)")
	check(c.Platform.BusyPoll >= 0 && c.Platform.BusyPoll.D() <= time.Second,
		"platform.busy_poll: expected a duration from 0 (off, the default) to 1s, such as 200us, got %s", c.Platform.BusyPoll.D())
	check(c.Platform.BusyPoll == 0 || runtime.GOOS == "linux", "platform.busy_poll: busy polling needs Linux; set it to 0 on %s", runtime.GOOS)
	check(c.Metrics.Type == "" || c.Metrics.Type == "prometheus", "metrics.type: expected prometheus (or nothing, for the local gateway's own figures), got %q", c.Metrics.Type)
	check(c.Platform.Type != "kserve" || c.Metrics.Type == "prometheus", "metrics.type: platform kserve needs metrics {type: prometheus, url: …}")
	check(c.Metrics.Type != "prometheus" || c.Platform.Type == "kserve", "metrics.type: prometheus needs platform.type kserve (the local gateway measures itself)")
	check(c.Payload.Listen == "" || c.Platform.Type == "kserve", "payload.listen: the CloudEvents receiver is for platform kserve (the local gateway measures payloads itself)")
	if c.Platform.Type == "kserve" {
		if err := kserveOptions(c.Platform.KServe).Validate(); err != nil {
			errs = append(errs, "platform: "+err.Error())
		}
		errs = append(errs, c.checkRawMetrics()...)
	}
	check(strings.Contains(c.Server.Listen, ":"), "server.listen: expected host:port, e.g. 127.0.0.1:8095, got %q", c.Server.Listen)
	if le := c.Server.LeaderElection; le != nil {
		errs = append(errs, le.validate(c.State.Type)...)
	}
	check(c.Canary.Percent >= 1 && c.Canary.Percent <= 99, "canary.percent: expected an integer from 1 to 99, got %d", c.Canary.Percent)
	check(c.Canary.Window > 0, "canary.window: expected a positive duration like 30m")
	check(c.Canary.Interval > 0, "canary.interval: expected a positive duration like 30s")
	check(c.Canary.Extension >= 0, "canary.extension: expected a duration ≥ 0")
	check(c.Canary.MinRequests >= 1, "canary.min_requests: expected at least 1")
	check(c.Canary.MirrorPercent >= 0 && c.Canary.MirrorPercent <= 100, "canary.mirror_percent: expected an integer from 0 (off) to 100, got %d", c.Canary.MirrorPercent)
	check(c.Thresholds.ErrorRateMargin >= 0 && c.Thresholds.ErrorRateMargin < 1, "thresholds.error_rate_margin: expected a rate from 0 to 1 (0.005 = 0.5 points), got %v", c.Thresholds.ErrorRateMargin)
	check(c.Thresholds.RelativeTolerance > 0 && c.Thresholds.RelativeTolerance < 1, "thresholds.relative_tolerance: expected a fraction like 0.05, got %v", c.Thresholds.RelativeTolerance)
	check(c.Judge.Type == "sequential" || c.Judge.Type == "thresholds", "judge.type: expected sequential or thresholds, got %q", c.Judge.Type)
	check(c.Judge.Alpha > 0 && c.Judge.Alpha < 0.5, "judge.alpha: expected a level like 0.05, got %v", c.Judge.Alpha)
	check(c.Judge.DecisionRule == "playbook" || c.Judge.DecisionRule == "strict", "judge.decision_rule: expected playbook or strict, got %q", c.Judge.DecisionRule)
	check(c.Judge.PredictionTolerance > 0 && c.Judge.PredictionTolerance < 1, "judge.prediction_tolerance: expected a relative shift in (0, 1) like 0.05, got %v", c.Judge.PredictionTolerance)
	check(c.Judge.PredictionMargin > 0 && c.Judge.PredictionMargin < 1, "judge.prediction_margin: expected a Kolmogorov-Smirnov distance in (0, 1), got %v", c.Judge.PredictionMargin)
	check(c.Judge.FeatureMargin > 0 && c.Judge.FeatureMargin < 1, "judge.feature_margin: expected a Kolmogorov-Smirnov distance in (0, 1), got %v", c.Judge.FeatureMargin)
	check(c.Staging.Timeout > 0, "staging.timeout: expected a positive duration like 5m")
	check(c.Smoke.Count >= 1, "smoke.count: expected at least 1")
	check(c.Smoke.P95Max > 0, "smoke.p95_max: expected a positive duration like 200ms")
	check(c.Evaluation.Tolerance >= 0, "evaluation.tolerance: expected a fraction ≥ 0")
	check(c.Evaluation.RecentRequests >= 0, "evaluation.recent_requests: expected a number of requests ≥ 0 (0 turns it off)")
	check(c.Evaluation.Task == "regression" || c.Evaluation.Task == "classification", "evaluation.task: expected regression or classification, got %q", c.Evaluation.Task)
	check(c.Evaluation.Protocol == "v1" || c.Evaluation.Protocol == "v2", "evaluation.protocol: expected v1 or v2, got %q", c.Evaluation.Protocol)
	errs = append(append(append(errs, c.Preconditions.check()...), c.Records.checkLinks()...), c.Alerts.check()...)
	errs = append(append(errs, c.Bake.check()...), c.Incidents.check()...)
	if _, err := c.ticketer(); err != nil && len(c.Incidents.check()) == 0 {
		errs = append(errs, modelgate.ErrorMessage(err)) // the tracker's own checks: its repo or project, its token
	}
	for _, p := range c.Smoke.Protocols {
		check(p == "v1" || p == "v2", "smoke.protocols: expected v1 and/or v2, got %q", p)
	}
	for m, e := range c.Platform.External {
		check((e.URL == "") != (len(e.Command) == 0), "platform.external.%s: expected exactly one of url or command", m)
		check(e.Protocol == "" || e.Protocol == "v1" || e.Protocol == "v2" || e.Protocol == "mlflow", "platform.external.%s.protocol: expected v1, v2 or mlflow, got %q", m, e.Protocol)
	}
	for i, r := range c.Smoke.Requests {
		_, ok := r["instances"]
		check(ok, "smoke.requests[%d]: expected a V1 body like {instances: [{store_id: 42, date: \"2025-01-15\", promo: 1}]}", i)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n  "))
	}
	return nil
}

// check checks the preconditions block's new keys.
func (p PreconditionsConfig) check() []string {
	var errs []string
	if !slices.Contains([]string{"error", "warn", "off"}, p.Monitoring) {
		errs = append(errs, fmt.Sprintf("preconditions.monitoring: expected error, warn or off, got %q", p.Monitoring))
	}
	if p.ApprovalMaxAge < 0 {
		errs = append(errs, "preconditions.approval_max_age: expected a duration ≥ 0 like 168h (0: approvals never expire)")
	}
	return errs
}

// checkLinks checks records.links: known names, valid templates.
func (r RecordsConfig) checkLinks() []string {
	var errs []string
	for name, t := range r.Links {
		if !slices.Contains(modelgate.LinkNames(), name) {
			errs = append(errs, fmt.Sprintf("records.links.%s: not a link name; expected %s", name, strings.Join(modelgate.LinkNames(), ", ")))
		} else if err := promotion.CheckLinkTemplate(t); err != nil {
			errs = append(errs, fmt.Sprintf("records.links.%s: %v", name, err))
		}
	}
	slices.Sort(errs)
	return errs
}

// check checks the alerts block's ranges.
func (c AlertsConfig) check() []string {
	var errs []string
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, msg)
		}
	}
	check(c.ErrorRate > 0 && c.ErrorRate < 1, fmt.Sprintf("alerts.error_rate: expected a share of requests in (0, 1) like 0.01, got %v", c.ErrorRate))
	check(c.LatencyP95 > 0, "alerts.latency_p95: expected a positive duration like 300ms")
	check(c.DriftPSI > 0, fmt.Sprintf("alerts.drift_psi: expected a positive PSI like 0.2, got %v", c.DriftPSI))
	check(c.MinRequests >= 1 && c.MinDriftSamples >= 1, "alerts.min_requests, alerts.min_drift_samples: expected at least 1")
	check(c.For > 0 && c.RateWindow >= Duration(time.Minute), "alerts.for, alerts.rate_window: expected positive durations, the rate window at least 1m, like 5m")
	check(c.Severity != "", "alerts.severity: expected a label value like page")
	return errs
}

// registryURI is the registry's address for link templates
// ({registry_uri}): MLflow's tracking URI; "" for the local registry.
func (c *Config) registryURI() string {
	if c.Registry.Type != "mlflow" {
		return ""
	}
	if c.Registry.URI != "" {
		return c.Registry.URI
	}
	return os.Getenv("MLFLOW_TRACKING_URI")
}

// path resolves a configured path against the config file's directory.
func (c *Config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// hash identifies the effective configuration (defaults applied, paths as
// written), so a resume under other settings is recorded.
func (c *Config) hash() string {
	b, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// describe names the configuration and the paths a command reads.
func (c *Config) describe() string {
	file := c.file
	if file == "" {
		file = "no modelgate.yaml (defaults)"
	}
	reg := c.Registry.Type
	if reg == "local" {
		reg = c.path(c.Registry.Path)
	} else if c.Registry.URI != "" {
		reg = c.Registry.URI
	}
	state := c.path(c.State.Dir)
	if c.State.Type == "postgres" {
		state = "postgres ($" + c.State.DSNEnv + ")"
	}
	return fmt.Sprintf("config %s; registry %s; state %s", file, reg, state)
}

// mustExist refuses to read where nothing was ever written: no config file
// and none of the state a command would otherwise create empty.
func (c *Config) mustExist() error {
	if c.file != "" {
		return nil
	}
	state := filepath.Join(c.path(c.State.Dir), "state.db")
	registry := filepath.Join(c.path(c.Registry.Path), "registry.db")
	for _, p := range []string{state, registry} {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	return &modelgate.Error{Code: modelgate.ENOTFOUND,
		Message: fmt.Sprintf("nothing to read here: no modelgate.yaml and no state (%s) or registry (%s)", state, registry),
		Hint:    "run it where your modelgate.yaml is, pass --config FILE, or try `modelgate demo`"}
}
