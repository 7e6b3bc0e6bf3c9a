package promotion

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
)

// linkVariable is one {name} in a link template; linkName is a valid name.
var (
	linkVariable = regexp.MustCompile(`\{([^{}]*)\}`)
	linkName     = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// CheckLinkTemplate reports whether t is a link template: an http(s) URL
// once its {variables} are filled in, each variable a name of letters,
// digits, '_', '.' or '-'. Variables are model, version, previous,
// promotion, registry_uri and any tag of the version (git_sha, …).
func CheckLinkTemplate(t string) error {
	for _, m := range linkVariable.FindAllStringSubmatch(t, -1) {
		if !linkName.MatchString(m[1]) {
			return fmt.Errorf("%q is not a variable: write {model}, {version}, {registry_uri} or a tag's name such as {git_sha}", m[0])
		}
	}
	sample := linkVariable.ReplaceAllStringFunc(t, func(m string) string {
		if m == "{registry_uri}" {
			return "http://registry"
		}
		return "x"
	})
	if strings.ContainsAny(sample, "{}") {
		return fmt.Errorf("unbalanced braces in %q", t)
	}
	u, err := url.Parse(sample)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL once its variables are filled in", t)
	}
	return nil
}

// resolveLinks resolves a promotion's links once: a version's link.<name>
// tag, else the configured template (Policy.Links) with its variables
// filled in. A template needing a value the version does not have is left
// out, with a note saying which.
func (s *Service) resolveLinks(mv *modelgate.ModelVersion, p *modelgate.Promotion) (modelgate.Links, []string) {
	var links modelgate.Links
	var notes []string
	for _, name := range modelgate.LinkNames() {
		if v := strings.TrimSpace(mv.Tags[modelgate.LinkTagPrefix+name]); v != "" && !IsPlaceholder(v) {
			links.Set(name, v)
			continue
		}
		t := s.Policy.Links[name]
		if t == "" {
			continue
		}
		u, missing := s.fillLink(t, mv, p)
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("the %s link is left out: version %s has no value for %s in records.links.%s", name, mv.Version, strings.Join(missing, ", "), name))
			continue
		}
		links.Set(name, u)
	}
	return links, notes
}

// fillLink fills in t's variables and names those without a value.
func (s *Service) fillLink(t string, mv *modelgate.ModelVersion, p *modelgate.Promotion) (string, []string) {
	vars := map[string]string{"model": mv.Name, "version": mv.Version, "previous": p.Previous, "promotion": p.ID}
	var missing []string
	out := linkVariable.ReplaceAllStringFunc(t, func(m string) string {
		name := m[1 : len(m)-1]
		if name == "registry_uri" && s.Policy.RegistryURI != "" {
			return strings.TrimRight(s.Policy.RegistryURI, "/")
		}
		v, ok := vars[name]
		if !ok {
			v = mv.Tags[name]
		}
		if IsPlaceholder(v) {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return m
		}
		return url.PathEscape(v)
	})
	return out, missing
}

// Links resolves a version's links outside a promotion (for alert
// annotations, say), as a promotion of it would, and says why a configured
// one is left out.
func (s *Service) Links(ctx context.Context, model, version string) (modelgate.Links, []string, error) {
	mv, err := s.Registry.GetVersion(ctx, model, version)
	if err != nil {
		return modelgate.Links{}, nil, explainLookup(err, model, version)
	}
	links, notes := s.resolveLinks(mv, &modelgate.Promotion{Model: model, Version: version})
	return links, notes, nil
}

// ProductionVersion returns the version the registry marks as model's
// production one (a stage or an alias, as Mode says). EPRECONDITION naming
// why when there is none.
func (s *Service) ProductionVersion(ctx context.Context, model string) (string, error) {
	v, problem, err := s.mode().Current(ctx, s.Registry, model, "")
	if err != nil {
		return "", err
	}
	if problem != "" {
		return "", modelgate.Errorf(modelgate.EPRECONDITION, "%s", problem).WithHint("name the version with --version")
	}
	return v, nil
}
