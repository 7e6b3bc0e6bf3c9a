package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/github"
	"github.com/modelgate/modelgate/jira"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/promotion"
	"go.yaml.in/yaml/v3"
)

// BakeConfig is the watch after the rollout (playbook step 8): how long,
// how often, what each alert does, and the daily summaries.
type BakeConfig struct {
	Duration  Duration `yaml:"duration"`   // how long the new version is watched; 0 skips the bake
	FirstHour Duration `yaml:"first_hour"` // looked at every canary.interval during this first period
	Later     Duration `yaml:"later"`      // then every this
	// OnNewPromotion is what a new promotion of the model does to a bake
	// still running: end (record why and end it) or wait (refuse until it
	// ends).
	OnNewPromotion string `yaml:"on_new_promotion"`
	// Actions is what each alert does when it fires: rollback or notify;
	// keys are the alerts' names (ModelErrorRateHigh, ...).
	Actions             map[string]string `yaml:"actions"`
	BaselineErrorMargin float64           `yaml:"baseline_error_margin"` // error rate above the previous version's baseline
	BaselineP95Margin   Duration          `yaml:"baseline_p95_margin"`   // p95 above the previous version's baseline
	SummaryDays         int               `yaml:"summary_days"`          // daily summaries for this many days; 0 for none
}

// IncidentsConfig is what a rollback opens: a ticket in GitHub Issues or
// Jira (at most one of them) and a post-mortem due this long after it.
type IncidentsConfig struct {
	PostMortemDue Duration      `yaml:"post_mortem_due"`
	GitHub        *GitHubConfig `yaml:"github"`
	Jira          *JiraConfig   `yaml:"jira"`
}

// GitHubConfig is github.Options' configuration.
type GitHubConfig struct {
	Repo     string   `yaml:"repo"`      // owner/name
	TokenEnv string   `yaml:"token_env"` // default GITHUB_TOKEN
	APIURL   string   `yaml:"api_url"`   // default https://api.github.com
	Labels   []string `yaml:"labels"`
}

// JiraConfig is jira.Options' configuration.
type JiraConfig struct {
	URL       string   `yaml:"url"`
	Project   string   `yaml:"project"`
	IssueType string   `yaml:"issue_type"`
	EmailEnv  string   `yaml:"email_env"`
	TokenEnv  string   `yaml:"token_env"`
	Labels    []string `yaml:"labels"`
}

func defaultBakeConfig() BakeConfig {
	return BakeConfig{Duration: Duration(24 * time.Hour), FirstHour: Duration(time.Hour), Later: Duration(5 * time.Minute),
		OnNewPromotion: "end", BaselineErrorMargin: 0.005, BaselineP95Margin: Duration(50 * time.Millisecond), SummaryDays: 7}
}

// check checks the bake block.
func (b BakeConfig) check() []string {
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	check(b.Duration >= 0, "bake.duration: expected a duration ≥ 0 like 24h (0 skips the bake)")
	check(b.FirstHour >= 0 && b.Later > 0, "bake.first_hour, bake.later: expected durations like 1h and 5m (later > 0)")
	check(b.OnNewPromotion == "end" || b.OnNewPromotion == "wait", "bake.on_new_promotion: expected end or wait, got %q", b.OnNewPromotion)
	check(b.BaselineErrorMargin >= 0 && b.BaselineErrorMargin < 1, "bake.baseline_error_margin: expected a share like 0.005 (0.5 points), got %v", b.BaselineErrorMargin)
	check(b.BaselineP95Margin >= 0, "bake.baseline_p95_margin: expected a duration ≥ 0 like 50ms")
	check(b.SummaryDays >= 0, "bake.summary_days: expected a number of days ≥ 0, got %d", b.SummaryDays)
	names := judge.BakeAlertNames()
	for _, k := range slices.Sorted(maps.Keys(b.Actions)) {
		check(slices.Contains(names, k), "bake.actions: %q is not an alert; expected one of %s", k, strings.Join(names, ", "))
		v := b.Actions[k]
		check(v == string(modelgate.AlertRollback) || v == string(modelgate.AlertNotify), "bake.actions.%s: expected rollback or notify, got %q", k, v)
	}
	return errs
}

// check checks the incidents block; the ticketers check their own options
// when they are built.
func (c IncidentsConfig) check() []string {
	var errs []string
	if c.PostMortemDue <= 0 {
		errs = append(errs, "incidents.post_mortem_due: expected a positive duration like 24h")
	}
	if c.GitHub != nil && c.Jira != nil {
		errs = append(errs, "incidents: set github or jira, not both: a rollback opens one ticket")
	}
	return errs
}

// bakePolicy is the engine's view of the bake block.
func (c *Config) bakePolicy(p *promotion.Policy) {
	b := c.Bake
	p.Bake = promotion.BakePolicy{Duration: b.Duration.D(), FirstHour: b.FirstHour.D(), Later: b.Later.D(), OnNewPromotion: b.OnNewPromotion}
	p.SummaryDays, p.PostMortemDue = b.SummaryDays, c.Incidents.PostMortemDue.D()
}

// alertRules are the bake's rules: the alert levels of the alerts block,
// the baseline margins and actions of the bake block, and the canary
// judge's drift settings.
func (c *Config) alertRules() judge.BakeRules {
	r := judge.DefaultBakeRules()
	th := c.Alerts.thresholds().OrDefaults()
	r.ErrorRate, r.P95, r.MinRequests, r.For = th.ErrorRate, th.LatencyP95, th.MinRequests, c.Alerts.For.D()
	r.BaselineErrorMargin, r.BaselineP95Margin = c.Bake.BaselineErrorMargin, c.Bake.BaselineP95Margin.D()
	for name, action := range c.Bake.Actions {
		r.Actions[name] = modelgate.AlertAction(action)
	}
	j := c.Judge
	// ModelDriftHigh fires at alerts.drift_psi, as the Prometheus rule does;
	// the other distances keep the canary judge's levels.
	r.Drift.PSIAlert, r.Drift.WassersteinAlert, r.Drift.LInfAlert = th.DriftPSI, j.WassersteinAlert, j.LInfAlert
	r.Drift.MinDriftSamples = th.MinDriftSamples
	return r
}

// ticketer builds the configured incident tracker; nil when none is.
func (c *Config) ticketer() (modelgate.Ticketer, error) {
	switch i := c.Incidents; {
	case i.GitHub != nil:
		g := i.GitHub
		return github.New(github.Options{Repo: g.Repo, TokenEnv: g.TokenEnv, APIURL: g.APIURL, Labels: g.Labels})
	case i.Jira != nil:
		j := i.Jira
		return jira.New(jira.Options{URL: j.URL, Project: j.Project, IssueType: j.IssueType, EmailEnv: j.EmailEnv, TokenEnv: j.TokenEnv, Labels: j.Labels})
	}
	return nil, nil
}

// effective is the configuration in force, defaults filled in, as YAML:
// what a post-mortem bundle records. Tokens and keys are named by the
// variables or files that hold them; a webhook's URL, which is its secret,
// is left out.
func (c *Config) effective() []byte {
	cc := *c
	cc.Notify.Webhooks = slices.Clone(c.Notify.Webhooks)
	for i := range cc.Notify.Webhooks {
		if cc.Notify.Webhooks[i].URL != "" {
			cc.Notify.Webhooks[i].URL = "(left out: a webhook's URL is its secret)"
		}
	}
	b, err := yaml.Marshal(&cc)
	if err != nil {
		return []byte(fmt.Sprintf("# the configuration could not be written: %v\n", err))
	}
	return b
}
