package modelgate

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strconv"
	"strings"
)

// ModelsURIMetaFile is the file MLflow's Python client adds to a model
// directory it downloads through a models:/ URI
// (mlflow.artifacts.download_artifacts("models:/NAME/V"), also
// models:/NAME@ALIAS, models:/NAME/STAGE and a logged model's models:/m-ID):
// YAML naming the registered model and version, written on the caller's
// side (mlflow/store/artifact/models_artifact_repo.py). The registry does
// not hold it, so a digest computed on such a download is not the version's
// digest although no file changed.
const ModelsURIMetaFile = "registered_model_meta"

// IsModelsURIDigest reports whether digest is the digest of fsys's files
// plus the registered_model_meta file MLflow's client writes when it
// downloads version of model through a models:/ URI: the digest someone
// computed on that download of these very files. It tells a mistaken tag
// apart from a changed artifact.
func IsModelsURIDigest(fsys fs.FS, model, version, digest string) (bool, error) {
	lines, err := digestLines(fsys)
	if err != nil {
		return false, err
	}
	kept := lines[:0:0]
	for _, l := range lines {
		if l[66:] != ModelsURIMetaFile+"\n" { // a stored copy of the file is replaced, as the client does
			kept = append(kept, l)
		}
	}
	for _, meta := range modelsURIMeta(model, version) {
		sum := sha256.Sum256([]byte(meta))
		withMeta := append(kept[:len(kept):len(kept)], hex.EncodeToString(sum[:])+"  "+ModelsURIMetaFile+"\n")
		sortLines(withMeta)
		if linesDigest(withMeta) == digest {
			return true, nil
		}
	}
	return false, nil
}

// modelsURIMeta returns the texts the client may have written into
// registered_model_meta: PyYAML's safe_dump of {model_name, model_version}
// with sorted keys, the name plain or quoted as YAML needs (which quoting
// PyYAML picks is not worked out here: each is tried), the version a
// quoted string; a logged model's URI (models:/m-ID) writes nulls.
func modelsURIMeta(model, version string) []string {
	names := []string{model, "'" + strings.ReplaceAll(model, "'", "''") + "'", strconv.Quote(model)}
	var texts []string
	for _, n := range names {
		for _, v := range []string{"'" + version + "'", version} {
			texts = append(texts, "model_name: "+n+"\nmodel_version: "+v+"\n")
		}
	}
	return append(texts, "model_name: null\nmodel_version: null\n")
}
