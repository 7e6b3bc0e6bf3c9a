package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/modelgate/modelgate/httpapi"
)

// tokenEntry is one token's entry in server.tokens_file:
//
//	"3f9c…": {name: ada, role: approver}
type tokenEntry struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"`
}

// readTokensFile adds the tokens of a tokens file: a YAML mapping of token
// to {name, role}. A file others can read is used, with a warning.
func readTokensFile(path string, tokens *httpapi.Tokens, stderr io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return configErrorf("server.tokens_file: %v", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "modelgate: warning: %s can be read by others (mode %v); it holds bearer tokens: chmod 600 it\n", path, fi.Mode().Perm())
	}
	var m map[string]tokenEntry
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && err != io.EOF {
		return configErrorf("server.tokens_file %s: expected a mapping of token to {name, role}: %v", path, err)
	}
	secrets := make([]string, 0, len(m))
	for t := range m {
		secrets = append(secrets, t)
	}
	sort.Slice(secrets, func(i, j int) bool { return m[secrets[i]].Name < m[secrets[j]].Name })
	for _, t := range secrets {
		e := m[t]
		if err := tokens.Add(t, httpapi.Identity{Name: e.Name, Role: httpapi.Role(e.Role)}); err != nil {
			return configErrorf("server.tokens_file %s: %v", path, err)
		}
	}
	return nil
}
