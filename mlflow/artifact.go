package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate"
)

// DownloadArtifacts copies the version's model directory into dir through
// the tracking server's artifact proxy and returns dir. It resolves the
// location MLflow gives for the version: mlflow-artifacts:/… (a run's
// artifacts in 2.x, a logged model's in 3.x), runs:/<id>/<path> and
// models:/m-<id> (3.x logged models). When signature keys are configured,
// the downloaded directory's model-signing signature is verified too; on
// any failure nothing is left in dir.
func (r *Registry) DownloadArtifacts(ctx context.Context, name, version, dir string) (string, error) {
	created, err := prepareTarget(dir)
	if err != nil {
		return "", err
	}
	err = r.download(ctx, name, version, dir)
	if err == nil {
		err = r.verifySignatureIfConfigured(dir, name+"/"+version)
	}
	if err != nil {
		cleanTarget(dir, created)
		return "", err
	}
	return dir, nil
}

func (r *Registry) download(ctx context.Context, name, version, dir string) error {
	v, err := r.getVersionJSON(ctx, name, version)
	if err != nil {
		return err
	}
	root, err := r.artifactRoot(ctx, name, version)
	if err != nil {
		return err
	}
	files, err := r.listTree(ctx, root, "")
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return modelgate.Errorf(modelgate.EINVALID, "the artifact location of %s version %s (%s) holds no files", name, version, v.Source)
	}
	hasMLmodel := false
	for _, f := range files {
		if err := r.fetchFile(ctx, root, f, dir); err != nil {
			return err
		}
		hasMLmodel = hasMLmodel || f.rel == "MLmodel"
	}
	if !hasMLmodel {
		return modelgate.Errorf(modelgate.EINVALID, "the artifact of %s version %s (%s) has no MLmodel file: it is not an MLflow model directory", name, version, v.Source)
	}
	return nil
}

// prepareTarget checks that dir is missing or an empty directory and
// creates it; it reports whether it created it.
func prepareTarget(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("create download directory: %w", err)
		}
		return true, nil
	case err != nil:
		return false, modelgate.Errorf(modelgate.EINVALID, "download directory %s: %v", dir, err)
	case len(entries) > 0:
		return false, modelgate.Errorf(modelgate.EINVALID, "download directory %s is not empty", dir)
	}
	return false, nil
}

func cleanTarget(dir string, created bool) {
	if created {
		_ = os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// artifactRoot returns the proxy path (relative to the artifact
// destination) of the version's model directory.
func (r *Registry) artifactRoot(ctx context.Context, name, version string) (string, error) {
	var out struct {
		URI string `json:"artifact_uri"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	if err := r.c.callJSON(ctx, get("model-versions/get-download-uri", q), &out); err != nil {
		return "", err
	}
	return r.proxyPath(ctx, out.URI, 0)
}

// proxyPath resolves an artifact URI to a path under /mlflow-artifacts.
func (r *Registry) proxyPath(ctx context.Context, uri string, depth int) (string, error) {
	if depth > 3 {
		return "", modelgate.Errorf(modelgate.EINVALID, "artifact URI %s does not resolve to a proxied location", uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", modelgate.Errorf(modelgate.EINVALID, "artifact URI %q: %v", uri, err)
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		p := strings.Trim(u.Path, "/")
		if err := checkRelPath(p); err != nil {
			return "", modelgate.Errorf(modelgate.EINVALID, "artifact URI %s: %v", uri, err)
		}
		return p, nil
	case "runs":
		// runs:/<run_id>/<path>: the run's artifact root plus the path.
		runID, rel, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		root, err := r.runArtifactURI(ctx, runID)
		if err != nil {
			return "", err
		}
		p, err := r.proxyPath(ctx, root, depth+1)
		if err != nil || rel == "" {
			return p, err
		}
		return p + "/" + strings.Trim(rel, "/"), checkRelPath(rel)
	case "models":
		id := strings.Trim(u.Path, "/")
		if !strings.HasPrefix(id, "m-") || strings.Contains(id, "/") {
			return "", modelgate.Errorf(modelgate.EINVALID, "artifact URI %s: only models:/m-<id> (an MLflow 3 logged model) can be resolved", uri)
		}
		lm, err := r.loggedModel(ctx, id)
		if err != nil {
			return "", err
		}
		return r.proxyPath(ctx, lm.Info.ArtifactURI, depth+1)
	}
	return "", modelgate.Errorf(modelgate.EINVALID, "artifact URI %s is not served through MLflow's artifact proxy, which modelgate downloads through", uri).
		WithHint("run the tracking server with --serve-artifacts (the default) and an --artifacts-destination")
}

func (r *Registry) runArtifactURI(ctx context.Context, runID string) (string, error) {
	var out struct {
		Run struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := r.c.callJSON(ctx, get("runs/get", url.Values{"run_id": {runID}}), &out); err != nil {
		return "", err
	}
	return out.Run.Info.ArtifactURI, nil
}

// checkRelPath refuses paths that could leave the directory they name.
func checkRelPath(p string) error {
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return fmt.Errorf("unsafe path %q", p)
		}
	}
	return nil
}

type remoteFile struct {
	rel  string // '/'-separated, relative to the model directory
	size int64
}

// listTree lists every file under root/rel, depth first. The proxy does not
// paginate its listings.
func (r *Registry) listTree(ctx context.Context, root, rel string) ([]remoteFile, error) {
	p := root
	if rel != "" {
		p += "/" + rel
	}
	var out struct {
		Files []struct {
			Path  string `json:"path"`
			IsDir bool   `json:"is_dir"`
			Size  int64  `json:"file_size"`
		} `json:"files"`
	}
	req := request{method: "GET", api: "mlflow-artifacts", path: "artifacts", query: url.Values{"path": {p}}, idempotent: true}
	if err := r.c.callJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	var files []remoteFile
	for _, f := range out.Files {
		base := path.Base(f.Path) // the proxy sends base names; be lenient with full paths
		if checkRelPath(base) != nil || base == "/" {
			return nil, modelgate.Errorf(modelgate.EINVALID, "MLflow listed an unsafe artifact name %q under %s", f.Path, p)
		}
		child := base
		if rel != "" {
			child = rel + "/" + base
		}
		if f.IsDir {
			sub, err := r.listTree(ctx, root, child)
			if err != nil {
				return nil, err
			}
			files = append(files, sub...)
			continue
		}
		files = append(files, remoteFile{rel: child, size: f.Size})
	}
	return files, nil
}

// fetchFile streams one file into dir, retrying from the start after a
// broken transfer, and checks its size against the listing.
func (r *Registry) fetchFile(ctx context.Context, root string, f remoteFile, dir string) error {
	local := filepath.Join(dir, filepath.FromSlash(f.rel))
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("download %s: %w", f.rel, err)
	}
	req := request{method: "GET", api: "mlflow-artifacts", path: "artifacts/" + root + "/" + f.rel, idempotent: true, slow: true}
	return r.c.call(ctx, req, func(resp *http.Response) error {
		out, err := os.Create(local)
		if err != nil {
			return &modelgate.Error{Code: modelgate.EINTERNAL, Message: fmt.Sprintf("download %s: %v", f.rel, err), Err: err}
		}
		n, err := io.Copy(out, resp.Body)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("download %s: %w", f.rel, err)
		}
		if f.size > 0 && n != f.size {
			return fmt.Errorf("download %s: got %d bytes, the listing says %d", f.rel, n, f.size)
		}
		return nil
	})
}
