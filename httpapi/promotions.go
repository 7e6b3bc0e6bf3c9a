package httpapi

import (
	"net/http"

	"github.com/modelgate/modelgate"
)

// The API's JSON shapes, shared by the server and the client.
type (
	startRequest struct {
		Model   string `json:"model"`
		Version string `json:"version"`
	}
	reasonRequest struct {
		Reason string `json:"reason"`
	}
	approvalRequest struct {
		Version string `json:"version"`
		Role    string `json:"role"`
		By      string `json:"by,omitempty"` // the caller's own name, or nothing
	}
	promotionResponse struct {
		Promotion *modelgate.Promotion    `json:"promotion"`
		Steps     []*modelgate.StepRecord `json:"steps,omitempty"`
	}
	promotionsResponse struct {
		Promotions []*modelgate.Promotion `json:"promotions"`
	}
	approvalResponse struct {
		Approval *modelgate.Approval `json:"approval"`
	}
	statusResponse struct {
		Status *modelgate.ModelStatus `json:"status"`
	}
)

func (s *Server) createPromotion(w http.ResponseWriter, r *http.Request, c *call) error {
	var req startRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c.model, c.version = req.Model, req.Version
	if err := required("model", req.Model); err != nil {
		return err
	}
	if err := required("version", req.Version); err != nil {
		return err
	}
	p, err := s.Service.StartPromotion(r.Context(), req.Model, req.Version)
	return s.accepted(w, c, p, err)
}

// accepted answers 202 with a promotion that runs on in the server.
func (s *Server) accepted(w http.ResponseWriter, c *call, p *modelgate.Promotion, err error) error {
	if err != nil {
		return err
	}
	c.promo, c.version = p.ID, p.Version
	w.Header().Set("Location", "/api/v1/promotions/"+p.ID)
	writeJSON(w, http.StatusAccepted, promotionResponse{Promotion: p})
	return nil
}

func (s *Server) listPromotions(w http.ResponseWriter, r *http.Request, _ *call) error {
	ps, err := s.Service.Promotions(r.Context(), r.URL.Query().Get("model"))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []*modelgate.Promotion{}
	}
	writeJSON(w, http.StatusOK, promotionsResponse{Promotions: ps})
	return nil
}

func (s *Server) getPromotion(w http.ResponseWriter, r *http.Request, _ *call) error {
	p, steps, err := s.Service.Promotion(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, promotionResponse{Promotion: p, Steps: steps})
	return nil
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request, c *call) error {
	var req reasonRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("reason", req.Reason); err != nil {
		return err
	}
	p, err := s.Service.AcceptPromotion(r.Context(), c.model, req.Reason)
	return s.accepted(w, c, p, err)
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request, c *call) error {
	var req reasonRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("reason", req.Reason); err != nil {
		return err
	}
	p, err := s.Service.AbortPromotion(r.Context(), c.model, req.Reason)
	return s.accepted(w, c, p, err)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.Service.ResumePromotion(r.Context(), c.model)
	return s.accepted(w, c, p, err)
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, c *call) error {
	var req approvalRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c.version = req.Version
	if err := required("version", req.Version); err != nil {
		return err
	}
	if err := required("role", req.Role); err != nil {
		return err
	}
	a := &modelgate.Approval{Model: c.model, Version: req.Version, Role: req.Role, By: req.By, At: s.Now().UTC()}
	if err := s.Service.Approve(r.Context(), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, approvalResponse{Approval: a})
	return nil
}

func (s *Server) modelStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	ms, err := s.Service.ModelStatus(r.Context(), c.model)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusResponse{Status: ms})
	return nil
}
