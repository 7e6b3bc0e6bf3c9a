package lightgbm

import (
	"math"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// outputKind says how raw scores become predictions (ObjectiveFunction::ConvertOutput).
type outputKind int

const (
	outputIdentity outputKind = iota // regression family, ranking, custom
	outputSquare                     // regression with reg_sqrt: sign(x)*x*x
	outputExp                        // poisson, gamma, tweedie
	outputSigmoid                    // binary, cross_entropy, multiclassova (per class)
	outputSoftmax                    // multiclass
	outputLog1pExp                   // cross_entropy_lambda
)

// objective is the parsed "objective=" header line.
type objective struct {
	text    string // as written, e.g. "binary sigmoid:1"
	kind    outputKind
	sigmoid float64 // slope of the sigmoid for outputSigmoid
}

// regressionNames accept the "sqrt" flag (RegressionL2loss and its children
// that keep it; huber drops it).
var regressionNames = map[string]bool{
	"regression": true, "regression_l1": true, "quantile": true, "fair": true,
	"mape": true, "mean_absolute_percentage_error": true,
}

// parseObjective reads an objective line the way
// ObjectiveFunction::CreateObjectiveFunction(const std::string&) does:
// a type name followed by space-separated flags and key:value parameters.
// An empty line means no objective, which LightGBM treats as raw output.
func parseObjective(text string, outputs int) (objective, error) {
	fields := strings.Fields(text)
	o := objective{text: text}
	if len(fields) == 0 {
		return o, nil
	}
	name, params := fields[0], fields[1:]
	switch {
	case regressionNames[name]:
		if hasFlag(params, "sqrt") {
			o.kind = outputSquare
		}
	case name == "none", name == "null", name == "custom", name == "na":
		return o, nil // raw scores, however many per row
	case name == "huber", name == "lambdarank", name == "rank_xendcg":
	case name == "poisson", name == "gamma", name == "tweedie":
		o.kind = outputExp
	case name == "binary", name == "multiclassova":
		return sigmoidObjective(o, name, params, outputs)
	case name == "xentropy", name == "cross_entropy":
		o.kind, o.sigmoid = outputSigmoid, 1
	case name == "xentlambda", name == "cross_entropy_lambda":
		o.kind = outputLog1pExp
	case name == "multiclass":
		o.kind = outputSoftmax
		return o, checkNumClass(name, params, outputs)
	default:
		return o, modelgate.Errorf(modelgate.EINVALID, "objective %q is not supported", name)
	}
	if outputs != 1 {
		return o, modelgate.Errorf(modelgate.EINVALID, "objective %s has one output per row, the model has %d trees per iteration", name, outputs)
	}
	return o, nil
}

func sigmoidObjective(o objective, name string, params []string, outputs int) (objective, error) {
	o.kind = outputSigmoid
	s, ok := param(params, "sigmoid")
	if !ok {
		return o, modelgate.Errorf(modelgate.EINVALID, "objective %s has no sigmoid parameter", name)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 1) { // an infinite slope times a raw score of 0 is NaN
		return o, modelgate.Errorf(modelgate.EINVALID, "objective %s: sigmoid %q is not a positive number", name, s)
	}
	o.sigmoid = v
	if name == "binary" {
		if outputs != 1 {
			return o, modelgate.Errorf(modelgate.EINVALID, "objective binary has one output per row, the model has %d trees per iteration", outputs)
		}
		return o, nil
	}
	return o, checkNumClass(name, params, outputs)
}

func checkNumClass(name string, params []string, outputs int) error {
	s, _ := param(params, "num_class")
	if n, err := strconv.Atoi(s); err != nil || n != outputs {
		return modelgate.Errorf(modelgate.EINVALID, "objective %s: num_class %q does not match the model's %d trees per iteration", name, s, outputs)
	}
	return nil
}

func hasFlag(params []string, flag string) bool {
	for _, p := range params {
		if p == flag {
			return true
		}
	}
	return false
}

func param(params []string, key string) (string, bool) {
	for _, p := range params {
		if k, v, ok := strings.Cut(p, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// convert turns raw scores into predictions in place, with the same
// operations in the same order as LightGBM's ConvertOutput.
func (o *objective) convert(s []float64) {
	switch o.kind {
	case outputSquare:
		s[0] = math.Copysign(s[0]*s[0], s[0])
	case outputExp:
		s[0] = math.Exp(s[0])
	case outputSigmoid:
		for i, v := range s {
			s[i] = 1 / (1 + math.Exp(-o.sigmoid*v))
		}
	case outputSoftmax:
		softmax(s)
	case outputLog1pExp:
		s[0] = math.Log1p(math.Exp(s[0]))
	}
}

// softmax is Common::Softmax: shift by the maximum, exponentiate, normalise.
func softmax(s []float64) {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	sum := 0.0
	for i, v := range s {
		s[i] = math.Exp(v - m)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}
