package kserve_test

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
)

func TestMapStorageURI(t *testing.T) {
	o := kserve.Options{StorageURI: []kserve.StorageRule{{From: "mlflow-artifacts:/", To: "s3://mlflow/artifacts/"}}}
	for _, c := range []struct{ in, want, code string }{
		{"mlflow-artifacts:/7/abc/artifacts/model", "s3://mlflow/artifacts/7/abc/artifacts/model", ""},
		{"gs://bucket/model", "gs://bucket/model", ""},
		{"runs:/abc/model", "", modelgate.EINVALID},
		{"/local/dir", "", modelgate.EINVALID},
	} {
		got, err := o.MapStorageURI(c.in)
		if got != c.want || modelgate.ErrorCode(err) != c.code {
			t.Errorf("MapStorageURI(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.code)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    kserve.Options
		want string
	}{
		{kserve.Options{}, "platform.model_format"},
		{kserve.Options{ModelFormat: "sklearn", ProtocolVersion: "v3"}, "platform.protocol_version"},
		{kserve.Options{ModelFormat: "sklearn", Logger: kserve.Logger{Mode: "all"}}, "platform.logger.url"},
		{kserve.Options{ModelFormat: "sklearn", StagingNamespace: "x", ProductionNamespace: "x"}, "platform.staging_namespace"},
	} {
		if err := c.o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c.o, err, c.want)
		}
	}
	if got := (kserve.Options{}).ServiceName("Demand_Forecast v2"); got != "demand-forecast-v2" {
		t.Errorf("ServiceName = %q", got)
	}
}
