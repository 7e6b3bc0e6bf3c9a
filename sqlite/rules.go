package sqlite

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelgate/modelgate"
)

// MLflow's limits and patterns (mlflow/utils/validation.py), so that a name
// the embedded registry accepts is one MLflow accepts too. Python's \w is
// Unicode-aware, hence \p{L}\p{N} rather than Go's ASCII \w.
const (
	maxAliasLength    = 255
	maxTagKeyLength   = 250
	maxTagValueLength = 5000
)

var (
	aliasPattern         = regexp.MustCompile(`^[\p{L}\p{N}_\-]*$`)
	reservedAlias        = regexp.MustCompile(`^[vV][0-9]+$`)
	tagKeyPattern        = regexp.MustCompile(`^[/\p{L}\p{N}_.\- :]*$`)
	badTagCharsMessage   = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
	badAliasCharsMessage = "Names may only contain alphanumerics, underscores (_) and dashes (-)."
)

// parseVersion turns MLflow's decimal version string into its number.
func parseVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, modelgate.Errorf(modelgate.EINVALID, "Parameter 'version' must be an integer, got '%s'.", v)
	}
	if n < 1 {
		return 0, modelgate.Errorf(modelgate.EINVALID, "Parameter 'version' must be a positive integer, got '%s'.", v)
	}
	return n, nil
}

// parseStage canonicalises a stage case-insensitively, with MLflow's message.
func parseStage(s modelgate.Stage) (modelgate.Stage, error) {
	st, err := modelgate.ParseStage(string(s))
	if err != nil {
		return "", modelgate.Errorf(modelgate.EINVALID,
			"Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", s)
	}
	return st, nil
}

func validateModelName(name string) error {
	if name == "" {
		return modelgate.Errorf(modelgate.EINVALID, "Registered model name cannot be empty.")
	}
	return nil
}

func validateAlias(alias string) error {
	switch {
	case alias == "":
		return modelgate.Errorf(modelgate.EINVALID, "Registered model alias name cannot be empty.")
	case !aliasPattern.MatchString(alias):
		return modelgate.Errorf(modelgate.EINVALID, "Invalid alias name: '%s'. %s", alias, badAliasCharsMessage)
	case utf8.RuneCountInString(alias) > maxAliasLength:
		return modelgate.Errorf(modelgate.EINVALID,
			"Registered model alias name exceeds the maximum length of %d characters", maxAliasLength)
	case strings.EqualFold(alias, "latest"):
		return modelgate.Errorf(modelgate.EINVALID, "'latest' alias name (case insensitive) is reserved.")
	case reservedAlias.MatchString(alias):
		return modelgate.Errorf(modelgate.EINVALID, "Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// validateKey checks a tag or metric key; what names the key in messages.
func validateKey(what, key string) error {
	switch {
	case key == "":
		return modelgate.Errorf(modelgate.EINVALID, "%s name cannot be empty.", what)
	case !tagKeyPattern.MatchString(key):
		return modelgate.Errorf(modelgate.EINVALID, "Invalid %s name: '%s'. %s", strings.ToLower(what), key, badTagCharsMessage)
	case pathNotUnique(key):
		return modelgate.Errorf(modelgate.EINVALID,
			"Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'",
			strings.ToLower(what), key, path.Clean(key))
	}
	return nil
}

// pathNotUnique copies MLflow's check that a key is not path-like.
func pathNotUnique(key string) bool {
	norm := path.Clean(key)
	return norm != key || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/")
}

func validateTag(key, value string) error {
	if err := validateKey("Tag", key); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(key); n > maxTagKeyLength {
		return lengthError("Tag key", key, n, maxTagKeyLength)
	}
	if n := utf8.RuneCountInString(value); n > maxTagValueLength {
		return lengthError("Tag value", value, n, maxTagValueLength)
	}
	return nil
}

func lengthError(what, value string, n, limit int) error {
	if r := []rune(value); len(r) > 30 {
		value = string(r[:30]) + "..."
	}
	return modelgate.Errorf(modelgate.EINVALID, "%s '%s' had length %d, which exceeded length limit of %d", what, value, n, limit)
}

// validateMetric rejects NaN, which SQLite would store as NULL.
func validateMetric(key string, value float64) error {
	if err := validateKey("Metric", key); err != nil {
		return err
	}
	if math.IsNaN(value) {
		return modelgate.Errorf(modelgate.EINVALID, "metric %s is NaN", key)
	}
	return nil
}

// versionString formats a version number as MLflow sends it.
func versionString(n int64) string { return fmt.Sprint(n) }
