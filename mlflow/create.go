package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// CreateVersion registers the model directory nv.Dir as the next version of
// nv.Name in MLflow 2.x's run layout, through the REST API only: a run in
// Options.Experiment with nv.Metrics, the files uploaded through the artifact
// proxy under the run's artifacts/model, then the version with
// source mlflow-artifacts:/…/model, its run_id and tags (model_sha256 is
// computed unless given) and, when asked, its stage. The directory is
// checked before anything is written to MLflow.
func (r *Registry) CreateVersion(ctx context.Context, nv modelgate.NewVersion) (*modelgate.ModelVersion, error) {
	files, err := modelFiles(nv.Dir)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(nv.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	if tags[modelgate.TagModelSHA256] == "" {
		d, err := modelgate.DirDigest(nv.Dir)
		if err != nil {
			return nil, err
		}
		tags[modelgate.TagModelSHA256] = d
	}
	stage := nv.Stage
	if stage == "" {
		stage = modelgate.StageNone
	}
	if _, err := modelgate.ParseStage(string(stage)); err != nil {
		return nil, err
	}
	runID, artifactURI, err := r.createRun(ctx, nv.Name)
	if err != nil {
		return nil, err
	}
	root, err := r.proxyPath(ctx, artifactURI, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := r.upload(ctx, root+"/model/"+f, filepath.Join(nv.Dir, filepath.FromSlash(f))); err != nil {
			return nil, err
		}
	}
	if err := r.logMetrics(ctx, runID, nv.Metrics); err != nil {
		return nil, err
	}
	end := map[string]any{"run_id": runID, "status": "FINISHED", "end_time": time.Now().UnixMilli()}
	if err := r.c.callJSON(ctx, post("runs/update", end, true), nil); err != nil {
		return nil, err
	}
	v, err := r.createVersion(ctx, nv.Name, strings.TrimRight(artifactURI, "/")+"/model", runID, tags)
	if err != nil {
		return nil, err
	}
	if stage != modelgate.StageNone {
		if _, err := r.TransitionStage(ctx, nv.Name, v.Version, stage, false); err != nil {
			return nil, err
		}
	}
	return r.GetVersion(ctx, nv.Name, v.Version)
}

// modelFiles lists the regular files of an MLflow model directory.
func modelFiles(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "MLmodel")); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%s is not an MLflow model directory: no MLmodel file (%v)", dir, err)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return modelgate.Errorf(modelgate.EINVALID, "model directory holds %s, which is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// experimentID returns the id of Options.Experiment, creating it if needed.
func (r *Registry) experimentID(ctx context.Context) (string, error) {
	var out struct {
		Experiment struct {
			ID string `json:"experiment_id"`
		} `json:"experiment"`
	}
	q := url.Values{"experiment_name": {r.opts.Experiment}}
	err := r.c.callJSON(ctx, get("experiments/get-by-name", q), &out)
	if err == nil {
		return out.Experiment.ID, nil
	} else if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return "", err
	}
	var created struct {
		ID string `json:"experiment_id"`
	}
	err = r.c.callJSON(ctx, post("experiments/create", map[string]string{"name": r.opts.Experiment}, false), &created)
	if modelgate.ErrorCode(err) == modelgate.ECONFLICT || isAlreadyExists(err) { // created meanwhile
		if err := r.c.callJSON(ctx, get("experiments/get-by-name", q), &out); err != nil {
			return "", err
		}
		return out.Experiment.ID, nil
	}
	return created.ID, err
}

// isAlreadyExists reports MLflow's RESOURCE_ALREADY_EXISTS, which it sends
// with status 400.
func isAlreadyExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == "RESOURCE_ALREADY_EXISTS"
}

func (r *Registry) createRun(ctx context.Context, model string) (runID, artifactURI string, err error) {
	exp, err := r.experimentID(ctx)
	if err != nil {
		return "", "", err
	}
	body := map[string]any{"experiment_id": exp, "start_time": time.Now().UnixMilli(), "run_name": "register-" + model,
		"tags": []map[string]string{{"key": "mlflow.source.name", "value": "modelgate"}, {"key": "modelgate.model", "value": model}}}
	var out struct {
		Run struct {
			Info struct {
				RunID       string `json:"run_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := r.c.callJSON(ctx, post("runs/create", body, false), &out); err != nil {
		return "", "", err
	}
	return out.Run.Info.RunID, out.Run.Info.ArtifactURI, nil
}

func (r *Registry) upload(ctx context.Context, proxyPath, local string) error {
	b, err := os.ReadFile(local)
	if err != nil {
		return fmt.Errorf("read %s: %w", local, err)
	}
	req := request{method: "PUT", api: "mlflow-artifacts", path: "artifacts/" + proxyPath, raw: b, idempotent: true, slow: true}
	if len(b) == 0 {
		req.raw = []byte{} // an empty file is still a PUT with a body
	}
	return r.c.callJSON(ctx, req, nil)
}

// logMetrics logs metrics in batches of at most 1000 (MLflow's limit).
func (r *Registry) logMetrics(ctx context.Context, runID string, metrics map[string]float64) error {
	keys := slices.Sorted(maps.Keys(metrics))
	now := time.Now().UnixMilli()
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		var batch []map[string]any
		for _, k := range keys[:n] {
			batch = append(batch, map[string]any{"key": k, "value": metrics[k], "timestamp": now, "step": 0})
		}
		keys = keys[n:]
		// Logging a metric twice only adds a point with the same value.
		if err := r.c.callJSON(ctx, post("runs/log-batch", map[string]any{"run_id": runID, "metrics": batch}, true), nil); err != nil {
			return err
		}
	}
	return nil
}

// createVersion creates the registered model when missing, then the version.
// Creating a version is not idempotent, so it is never retried after the
// request may have reached the server.
func (r *Registry) createVersion(ctx context.Context, name, source, runID string, tags map[string]string) (*modelVersionJSON, error) {
	err := r.c.callJSON(ctx, post("registered-models/create", map[string]string{"name": name}, false), nil)
	if err != nil && !isAlreadyExists(err) {
		return nil, err
	}
	var tagList []map[string]string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, map[string]string{"key": k, "value": tags[k]})
	}
	body := map[string]any{"name": name, "source": source, "run_id": runID, "tags": tagList}
	var out struct {
		Version modelVersionJSON `json:"model_version"`
	}
	if err := r.c.callJSON(ctx, post("model-versions/create", body, false), &out); err != nil {
		return nil, err
	}
	return r.waitReady(ctx, &out.Version)
}

// waitReady polls a version until MLflow finished registering it (OSS
// creates versions READY at once; other servers copy artifacts first).
func (r *Registry) waitReady(ctx context.Context, v *modelVersionJSON) (*modelVersionJSON, error) {
	for i := 0; v.Status == "PENDING_REGISTRATION"; i++ {
		if i == 300 {
			return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "version %s of %s is still pending registration after 5 minutes", v.Version, v.Name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		next, err := r.getVersionJSON(ctx, v.Name, v.Version)
		if err != nil {
			return nil, err
		}
		v = next
	}
	if v.Status == "FAILED_REGISTRATION" {
		return nil, modelgate.Errorf(modelgate.EINTERNAL, "MLflow failed to register version %s of %s: %s", v.Version, v.Name, v.StatusMessage)
	}
	return v, nil
}
