package modelgate_test

import (
	"math"
	"testing"

	"github.com/modelgate/modelgate"
)

func TestFigures_ErrorBand(t *testing.T) {
	f := modelgate.RevisionStats{Requests: 1000, Errors: 10}.Figures()
	// Wilson 95% for 10/1000: [0.00544, 0.01828].
	if math.Abs(f.ErrorLow-0.00544) > 5e-5 || math.Abs(f.ErrorHigh-0.01828) > 5e-5 || f.ErrorRate != 0.01 {
		t.Errorf("band [%.5f, %.5f] around %.4f", f.ErrorLow, f.ErrorHigh, f.ErrorRate)
	}
	if f := (modelgate.RevisionStats{}).Figures(); f.ErrorLow != 0 || f.ErrorHigh != 0 {
		t.Errorf("no requests: %+v", f)
	}
}
