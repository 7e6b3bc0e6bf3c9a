package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate"
)

// artifactScheme prefixes the Source of every version this registry stores;
// the rest is the path under the artifact directory.
const artifactScheme = "modelgate-artifacts:/sha256/"

var digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func artifactSource(digest string) string { return artifactScheme + digest }

// artifactPath maps a version's Source to its stored directory, refusing
// anything that is not a bare digest so a tampered row cannot escape the store.
func (r *Registry) artifactPath(source string) (string, error) {
	digest, ok := strings.CutPrefix(source, artifactScheme)
	if !ok || !digestPattern.MatchString(digest) {
		return "", modelgate.Errorf(modelgate.EINTERNAL, "version source %q is not in the modelgate artifact store", source)
	}
	return filepath.Join(r.artifactDir, "sha256", digest), nil
}

// checkModelDir requires an MLflow model directory: one holding an MLmodel file.
func checkModelDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return modelgate.Errorf(modelgate.EINVALID, "model directory %s does not exist", dir)
	} else if err != nil {
		return fmt.Errorf("check model directory: %w", err)
	} else if !fi.IsDir() {
		return modelgate.Errorf(modelgate.EINVALID, "model directory %s is not a directory", dir)
	}
	fi, err = os.Stat(filepath.Join(dir, "MLmodel"))
	if err != nil || !fi.Mode().IsRegular() {
		return modelgate.Errorf(modelgate.EINVALID,
			"model directory %s has no MLmodel file: it is not an MLflow model", dir).
			WithHint("register the directory mlflow.<flavor>.save_model wrote")
	}
	return nil
}

// storeArtifact copies dir into <artifactDir>/sha256/<digest>/ and returns
// the digest. An artifact already stored is reused. The copy is made in a
// temporary directory, synced, checked against the digest and renamed, so the
// final name only ever holds a complete copy.
func (r *Registry) storeArtifact(ctx context.Context, dir string) (string, error) {
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		return "", err
	}
	final := filepath.Join(r.artifactDir, "sha256", digest)
	if _, err := os.Stat(final); err == nil {
		return digest, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("create artifact store: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".tmp-"+digest[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("create temporary artifact directory: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left to remove after the rename
	if err := fillArtifact(ctx, dir, tmp, digest); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return digest, nil // another process stored the same content first
		}
		return "", fmt.Errorf("store artifact %s: %w", digest, err)
	}
	return digest, syncDir(filepath.Dir(final))
}

// fillArtifact copies dir into tmp durably and checks the copy's digest, which
// catches a model directory that changed while it was being registered.
func fillArtifact(ctx context.Context, dir, tmp, digest string) error {
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := copyTree(ctx, dir, tmp, true); err != nil {
		return fmt.Errorf("copy model directory: %w", err)
	}
	got, err := modelgate.DirDigest(tmp)
	if err != nil {
		return err
	}
	if got != digest {
		return modelgate.Errorf(modelgate.EINVALID, "model directory %s changed while it was being registered", dir)
	}
	return nil
}

// DownloadArtifacts copies the version's stored directory into dir, which
// must be empty or missing, and returns dir. It does not verify the digest:
// the caller recomputes it, so a corrupted store is caught there.
func (r *Registry) DownloadArtifacts(ctx context.Context, name, version, dir string) (string, error) {
	n, err := parseVersion(version)
	if err != nil {
		return "", err
	}
	var source string
	err = r.db.view(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT source FROM model_versions WHERE name = ? AND version = ?`,
			name, n).Scan(&source)
		if errors.Is(err, sql.ErrNoRows) {
			return versionNotFound(name, n)
		}
		return err
	})
	if err == nil {
		err = r.download(ctx, source, dir)
	}
	if err != nil {
		return "", translate(fmt.Sprintf("download %s/%s", name, version), err)
	}
	return dir, nil
}

func (r *Registry) download(ctx context.Context, source, dir string) error {
	src, err := r.artifactPath(source)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return modelgate.Errorf(modelgate.EINTERNAL, "artifact %s is missing from the store", source)
	}
	created, err := prepareTarget(dir)
	if err != nil {
		return err
	}
	if err := copyTree(ctx, src, dir, false); err != nil {
		cleanTarget(dir, created)
		return fmt.Errorf("copy artifact: %w", err)
	}
	return nil
}

// prepareTarget makes sure dir exists and is empty; created reports whether
// it had to be made.
func prepareTarget(dir string) (created bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, os.MkdirAll(dir, 0o755)
	} else if err != nil {
		return false, err
	} else if !fi.IsDir() {
		return false, modelgate.Errorf(modelgate.EINVALID, "download target %s is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, modelgate.Errorf(modelgate.EINVALID, "download target %s is not empty", dir)
	}
	return false, nil
}

// cleanTarget undoes a failed download: it leaves dir as it found it.
func cleanTarget(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// copyTree copies the regular files and directories under src into dst,
// which must exist. With durable, files and directories are synced.
func copyTree(ctx context.Context, src, dst string, durable bool) error {
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, target)
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target, durable)
		}
		return modelgate.Errorf(modelgate.EINVALID, "model directory holds %s, which is not a regular file", rel)
	})
	if err != nil || !durable {
		return err
	}
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, durable bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if durable {
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// syncDir makes a directory's entries durable (needed after creating files
// in it or renaming into it).
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
