package modelgate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// DirDigest computes the project's model digest (the model_sha256 tag) of the
// directory at root: SHA-256 of the text made of one line
// "<lowercase hex sha256 of the file>  <path relative to root, '/'-separated>\n"
// per regular file, lines sorted by path. It is what
// `find . -type f | sort | xargs sha256sum` prints, minus the "./" prefix, so
// anyone can recompute it with coreutils. Symbolic links and other
// non-regular files are rejected: they would make the digest depend on things
// outside the directory.
func DirDigest(root string) (string, error) {
	return FSDigest(os.DirFS(root))
}

// FSDigest is DirDigest over an fs.FS.
func FSDigest(fsys fs.FS) (string, error) {
	lines, err := digestLines(fsys)
	if err != nil {
		return "", err
	}
	return linesDigest(lines), nil
}

// DigestManifest returns the sha256sum-style text DirDigest hashes.
func DigestManifest(fsys fs.FS) (string, error) {
	lines, err := digestLines(fsys)
	if err != nil {
		return "", err
	}
	return strings.Join(lines, ""), nil
}

// digestLines returns the manifest's lines, sorted by path.
func digestLines(fsys fs.FS) ([]string, error) {
	var lines []string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return Errorf(EINVALID, "model directory holds %s, which is not a regular file", path)
		}
		h, err := fileSHA256(fsys, path)
		if err != nil {
			return err
		}
		lines = append(lines, h+"  "+path+"\n")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest model directory: %w", err)
	}
	if len(lines) == 0 {
		return nil, Errorf(EINVALID, "model directory is empty")
	}
	sortLines(lines)
	return lines, nil
}

// sortLines sorts manifest lines by path: the hash prefix has fixed width,
// so compare from column 66.
func sortLines(lines []string) {
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
}

func linesDigest(lines []string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(sum[:])
}

func fileSHA256(fsys fs.FS, path string) (string, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
