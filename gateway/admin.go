package gateway

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
)

// adminRoutes is the admin API, behind the token check.
func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	m := adminPrefix + "/{model}"
	mux.HandleFunc("GET "+adminPrefix, s.admin(s.listModels))
	mux.HandleFunc("GET "+m, s.admin(s.getStatus))
	mux.HandleFunc("PUT "+m+"/staging", s.admin(s.putStaging))
	mux.HandleFunc("PUT "+m+"/canary", s.admin(s.putCanary))
	mux.HandleFunc("POST "+m+"/promote", s.admin(s.postPromote))
	mux.HandleFunc("POST "+m+"/rollback", s.admin(s.putStable))
	mux.HandleFunc("PUT "+m+"/stable", s.admin(s.putStable))
	mux.HandleFunc("GET "+m+"/observe", s.admin(s.getObserve))
	mux.HandleFunc("GET "+m+"/recent", s.admin(s.getRecent))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, modelgate.Errorf(modelgate.ENOTFOUND, "no admin route for %s %s", r.Method, r.URL.Path))
	})
	return s.authorized(mux)
}

// admin adapts an admin operation to an HTTP handler: 200 with the result
// as JSON, or an AdminError. Every change (any method but GET) is logged
// with its outcome, refused ones too.
func (s *Server) admin(op func(w http.ResponseWriter, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := op(w, r)
		s.logAdmin(r, err)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// logAdmin logs an admin change, or a failed admin read.
func (s *Server) logAdmin(r *http.Request, err error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr}
	switch {
	case err != nil && modelgate.ErrorCode(err) == modelgate.EINTERNAL:
		s.opts.Logger.Error("admin request failed", append(attrs, "error", err)...)
	case err != nil && r.Method != http.MethodGet:
		s.opts.Logger.Warn("admin change refused", append(attrs, "error", modelgate.ErrorMessage(err))...)
	case r.Method != http.MethodGet:
		s.opts.Logger.Info("admin change", attrs...)
	}
}

func (s *Server) listModels(_ http.ResponseWriter, _ *http.Request) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]Status, 0, len(s.models))
	for name, m := range s.models {
		list = append(list, statusOf(name, m))
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Model < list[j].Model })
	return list, nil
}

func (s *Server) getStatus(_ http.ResponseWriter, r *http.Request) (any, error) {
	name, err := modelName(r)
	if err != nil {
		return nil, err
	}
	m, _ := s.state(name)
	return statusOf(name, m), nil
}

func (s *Server) getObserve(_ http.ResponseWriter, r *http.Request) (any, error) {
	name, err := modelName(r)
	if err != nil {
		return nil, err
	}
	s.stateMu.Lock() // m and the figures saved belong to one split
	defer s.stateMu.Unlock()
	m, _ := s.state(name)
	if m.prod == nil {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %q is not served in production", name)
	}
	// The figures answered are saved first, so a restart never shows fewer.
	figs, err := s.saveState("", nil)
	if err != nil {
		return nil, fmt.Errorf("save measurements before answering: %w", err)
	}
	f := figs[name]
	w := &modelgate.Window{Model: name, Start: m.prod.start, End: f.SavedAt,
		Stable: s.withAccuracy(name, m.prod.start, f.Stable)}
	if f.Canary != nil {
		w.Canary = s.withAccuracy(name, m.prod.start, *f.Canary)
	}
	return w, nil
}

func (s *Server) putStaging(w http.ResponseWriter, r *http.Request) (any, error) {
	name, d, err := deploymentRequest(w, r)
	if err != nil {
		return nil, err
	}
	return s.change(name, func(cur modelState) (modelState, error) { return s.withStaging(cur, d) })
}

func (s *Server) putCanary(w http.ResponseWriter, r *http.Request) (any, error) {
	name, err := modelName(r)
	if err != nil {
		return nil, err
	}
	var req CanaryRequest
	if err := decodeBody(w, r, &req, adminBodyBytes); err != nil {
		return nil, err
	}
	d, err := checkDeployment(name, req.Deployment)
	if err != nil {
		return nil, err
	}
	return s.change(name, func(cur modelState) (modelState, error) { return s.withCanary(cur, d, req.Percent, req.MirrorPercent) })
}

func (s *Server) postPromote(w http.ResponseWriter, r *http.Request) (any, error) {
	name, err := modelName(r)
	if err != nil {
		return nil, err
	}
	var req PromoteRequest
	if err := decodeBody(w, r, &req, adminBodyBytes); err != nil {
		return nil, err
	}
	if req.Version == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "promote request for model %q has no version", name)
	}
	return s.change(name, func(cur modelState) (modelState, error) { return s.promoted(name, cur, req.Version) })
}

// putStable serves both rollback and stable: the deployment becomes stable
// at 100% and any canary goes.
func (s *Server) putStable(w http.ResponseWriter, r *http.Request) (any, error) {
	name, d, err := deploymentRequest(w, r)
	if err != nil {
		return nil, err
	}
	return s.change(name, func(cur modelState) (modelState, error) { return s.withStable(cur, d) })
}

func modelName(r *http.Request) (string, error) {
	name := r.PathValue("model")
	if name == "" || strings.ContainsAny(name, "/") {
		return "", modelgate.Errorf(modelgate.EINVALID, "invalid model name %q", name)
	}
	return name, nil
}

func deploymentRequest(w http.ResponseWriter, r *http.Request) (string, modelgate.Deployment, error) {
	name, err := modelName(r)
	if err != nil {
		return "", modelgate.Deployment{}, err
	}
	var d modelgate.Deployment
	if err := decodeBody(w, r, &d, adminBodyBytes); err != nil {
		return "", d, err
	}
	d, err = checkDeployment(name, d)
	return name, d, err
}

// checkDeployment fills in the model name from the path and checks the
// deployment names a version.
func checkDeployment(name string, d modelgate.Deployment) (modelgate.Deployment, error) {
	if d.Model == "" {
		d.Model = name
	}
	if d.Model != name {
		return d, modelgate.Errorf(modelgate.EINVALID, "deployment names model %q but the path names %q", d.Model, name)
	}
	if d.Version == "" {
		return d, modelgate.Errorf(modelgate.EINVALID, "deployment of model %q has no version", name)
	}
	return d, nil
}
