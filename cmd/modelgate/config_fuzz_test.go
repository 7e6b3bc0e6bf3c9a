package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// FuzzLoadConfig loads a fuzzed modelgate.yaml. Properties: nothing panics;
// an accepted config validates again; a refused one is a *configError whose
// message names the file and, on every line, speaks of keys and values in
// the config's words, not in Go's (no "main.CanaryConfig", "cannot
// unmarshal !!str", "float64"). Seeds: testdata/fuzz/FuzzLoadConfig (the
// README's configuration reference, the demo's and the tests' configs, and
// malformed ones).
func FuzzLoadConfig(f *testing.F) {
	path := filepath.Join(f.TempDir(), "modelgate.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(path, true)
		if err == nil {
			if err := cfg.validate(); err != nil {
				t.Fatalf("an accepted config does not validate: %v", err)
			}
			return
		}
		var ce *configError
		if !errors.As(err, &ce) {
			t.Fatalf("error %v (%T) is not a configuration error", err, err)
		}
		msg, ok := strings.CutPrefix(err.Error(), "config "+path+": ")
		if !ok {
			t.Fatalf("error %q does not start by naming the file", err)
		}
		if leak := goWording(msg); leak != "" {
			t.Fatalf("error %q speaks Go: %q", msg, leak)
		}
	})
}

var (
	// userText is what a message quotes from the file: `values` (yaml's
	// quoting, which may span lines, so all from the first to the last),
	// 'anchors', "values" (Go's) and the key an unknown-field line names.
	userText = regexp.MustCompile("(?s:`.*`)|'[^'\n]*'|\"(?:[^\"\\\\]|\\\\.)*\"|field .* is not a known key")
	goWords  = regexp.MustCompile(`main\.|interface \{\}|unmarshal|\b(?:u?int|float)(?:8|16|32|64)?\b|\[\]|map\[`)
)

// goWording returns the first Go type or YAML tag msg mentions outside what
// it quotes from the file, "" if none.
func goWording(msg string) string {
	return goWords.FindString(userText.ReplaceAllString(msg, ""))
}
