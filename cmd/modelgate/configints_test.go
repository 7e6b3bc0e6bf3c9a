package main

import (
	"testing"
	"time"

	"github.com/modelgate/modelgate/gateway"
)

// yaml.v3 would truncate 12.5 into an integer key as 12: the config is
// refused instead, naming every such key (through inline structs and
// pointers); a whole number written as 12.0 is accepted.
func TestConfigFractionalIntegers(t *testing.T) {
	tests := []struct {
		name, yaml, want string // want "" when the config loads
	}{
		{"Percent", "canary: {percent: 12.5}\n", "canary.percent: expected a whole number, got 12.5"},
		{"Several", "smoke: {count: 2.5}\nplatform: {type: kserve, min_replicas: 1.5}\n",
			"smoke.count: expected a whole number, got 2.5; platform.min_replicas: expected a whole number, got 1.5"},
		{"WholeFloat", "canary: {percent: 12.0}\n", ""},
		{"Alias", "smoke: {max: &m 2.5, count: *m}\n", "smoke.count: expected a whole number, got 2.5"},
		{"MergeKey", "smoke: {requests: [{instances: [{a: 1}], shared: &b {percent: 12.5}}]}\ncanary: {<<: *b, window: 30m}\n",
			"canary.percent: expected a whole number, got 12.5"},
		{"FloatKeysKeepFractions", "judge: {alpha: 0.01}\nsmoke: {requests: [{instances: [{x: 1.5}]}]}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfigText(t, tt.yaml)
			checkConfigError(t, err, tt.want)
			if tt.name == "WholeFloat" && cfg.Canary.Percent != 12 {
				t.Fatalf("canary.percent = %d, want 12", cfg.Canary.Percent)
			}
		})
	}
}

// platform.busy_poll reaches the gateway's options; a negative or
// unreasonably long one is refused, saying what it expects.
func TestConfigBusyPoll(t *testing.T) {
	cfg, err := loadConfigText(t, "platform: {busy_poll: 200us}\n")
	checkConfigError(t, err, "")
	var o gateway.Options
	withLimits(cfg.Platform)(&o)
	if o.BusyPoll != 200*time.Microsecond {
		t.Errorf("gateway BusyPoll = %s, want 200µs", o.BusyPoll)
	}
	for _, bad := range []string{"-1ms", "2s"} {
		_, err := loadConfigText(t, "platform: {busy_poll: "+bad+"}\n")
		checkConfigError(t, err, "platform.busy_poll: expected a duration from 0 (off, the default) to 1s, such as 200us, got "+bad)
	}
}
