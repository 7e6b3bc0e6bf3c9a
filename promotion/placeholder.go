package promotion

import "strings"

// placeholderWords are values people write where the real one is not known
// yet, compared case-insensitively.
var placeholderWords = map[string]bool{
	"todo": true, "tbd": true, "tbc": true, "fixme": true, "n/a": true, "na": true, "none": true,
	"null": true, "nil": true, "unknown": true, "placeholder": true, "changeme": true, "xxx": true,
}

// IsPlaceholder reports whether v stands in for a value instead of being
// one: empty or blank; only dots, ellipses, dashes, underscores, question
// marks or asterisks ("...", "…", "-", "?"); a word such as TODO, TBD,
// FIXME, n/a, none, unknown (any case); or a template left unfilled
// ("<git sha>", "{{ sha }}", "${GIT_SHA}").
func IsPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || placeholderWords[strings.ToLower(v)] {
		return true
	}
	if strings.Trim(v, ".…-_?*") == "" {
		return true
	}
	for _, pair := range [][2]string{{"<", ">"}, {"{{", "}}"}, {"${", "}"}} {
		if strings.HasPrefix(v, pair[0]) && strings.HasSuffix(v, pair[1]) {
			return true
		}
	}
	return false
}

// samePerson reports whether two names name the same person: compared
// without case and with runs of spaces as one.
func samePerson(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}
