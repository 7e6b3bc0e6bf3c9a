package modelgate_test

import (
	"testing"
	"testing/fstest"

	"github.com/modelgate/modelgate"
)

// The texts are what MLflow 3.17's client writes into registered_model_meta
// on downloads of models:/NAME/1 or models:/NAME@champion (a name YAML must
// quote is quoted) and of models:/m-ID.
func TestIsModelsURIDigest(t *testing.T) {
	files := fstest.MapFS{
		"MLmodel":   {Data: []byte("flavors: {}\n")},
		"model.lgb": {Data: []byte("tree\n")},
	}
	with := func(meta string) string {
		t.Helper()
		fsys := fstest.MapFS{modelgate.ModelsURIMetaFile: {Data: []byte(meta)}}
		for k, v := range files {
			fsys[k] = v
		}
		d, err := modelgate.FSDigest(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	changed := fstest.MapFS{"MLmodel": files["MLmodel"], "model.lgb": {Data: []byte("other tree\n")}}
	plain, err := modelgate.FSDigest(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, model, digest string
		fsys                fstest.MapFS
		want                bool
	}{
		{"NameVersion", "demand-forecast", with("model_name: demand-forecast\nmodel_version: '1'\n"), files, true},
		{"QuotedName", "yes", with("model_name: 'yes'\nmodel_version: '1'\n"), files, true},
		{"LoggedModelURI", "demand-forecast", with("model_name: null\nmodel_version: null\n"), files, true},
		{"AlreadyStored", "demand-forecast", with("model_name: demand-forecast\nmodel_version: '1'\n"),
			fstest.MapFS{"MLmodel": files["MLmodel"], "model.lgb": files["model.lgb"], modelgate.ModelsURIMetaFile: {Data: []byte("old\n")}}, true},
		{"OtherVersion", "demand-forecast", with("model_name: demand-forecast\nmodel_version: '2'\n"), files, false},
		{"FileChanged", "demand-forecast", with("model_name: demand-forecast\nmodel_version: '1'\n"), changed, false},
		{"PlainDigest", "demand-forecast", plain, files, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := modelgate.IsModelsURIDigest(tc.fsys, tc.model, "1", tc.digest)
			if err != nil || got != tc.want {
				t.Fatalf("IsModelsURIDigest = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
