package xgboost

import (
	"sort"
	"strings"
)

// transform is the output transform an objective applies to margins.
type transform int

const (
	identity    transform = iota
	sigmoid               // reg:logistic, binary:logistic
	exponential           // count:poisson, reg:gamma, reg:tweedie, survival:*
	softprob              // multi:softprob
	argmax                // multi:softmax
	hinge                 // binary:hinge
)

// objective is the model's objective: its output transform and whether
// base_score is mapped to margin space with logit or log (ProbToMargin).
type objective struct {
	name      string
	transform transform
	logit     bool // base margin = -log(1/p - 1)
	log       bool // base margin = log(p)
}

// objectives lists every objective served, with XGBoost's PredTransform and
// ProbToMargin (src/objective/*). binary:logitraw keeps base_score as it is.
var objectives = map[string]objective{
	"reg:squarederror":     {},
	"reg:linear":           {},
	"reg:squaredlogerror":  {},
	"reg:pseudohubererror": {},
	"reg:absoluteerror":    {},
	"reg:quantileerror":    {},
	"binary:logitraw":      {},
	"rank:pairwise":        {},
	"rank:ndcg":            {},
	"rank:map":             {},
	"reg:logistic":         {transform: sigmoid, logit: true},
	"binary:logistic":      {transform: sigmoid, logit: true},
	"count:poisson":        {transform: exponential, log: true},
	"reg:gamma":            {transform: exponential, log: true},
	"reg:tweedie":          {transform: exponential, log: true},
	"survival:cox":         {transform: exponential, log: true},
	"survival:aft":         {transform: exponential, log: true},
	"binary:hinge":         {transform: hinge},
	"multi:softprob":       {transform: softprob},
	"multi:softmax":        {transform: argmax},
}

func lookupObjective(name string) (objective, error) {
	o, ok := objectives[name]
	if !ok {
		names := make([]string, 0, len(objectives))
		for n := range objectives {
			names = append(names, n)
		}
		sort.Strings(names)
		return o, unsupported(invalidf("XGBoost objective %q is not supported natively; supported: %s", name, strings.Join(names, ", ")), scoringServerHint)
	}
	o.name = name
	return o, nil
}

// probToMargin is the objective's ProbToMargin, in float32 as XGBoost
// computes it (common::Logit, std::log on float).
func (o objective) probToMargin(p float32) float32 {
	switch {
	case o.logit:
		return -logf(float32(float32(1)/p) - 1)
	case o.log:
		return logf(p)
	}
	return p
}

// outputs is the number of values a prediction has for margins of width
// groups.
func (o objective) outputs(groups int) int {
	if o.transform == argmax {
		return 1
	}
	return groups
}

// apply transforms the margins of one row into out (len(out) =
// o.outputs(len(margin))).
func (o objective) apply(margin, out []float32) {
	switch o.transform {
	case identity:
		copy(out, margin)
	case sigmoid:
		for k, x := range margin {
			out[k] = sigmoidf(x)
		}
	case exponential:
		for k, x := range margin {
			out[k] = expf(x)
		}
	case hinge:
		for k, x := range margin {
			out[k] = 0
			if x > 0 {
				out[k] = 1
			}
		}
	case softprob:
		softmax(margin, out)
	case argmax:
		best := 0
		for k, x := range margin {
			if x > margin[best] {
				best = k
			}
		}
		out[0] = float32(best)
	}
}

// sigmoidf is XGBoost's common::Sigmoid(float).
func sigmoidf(x float32) float32 {
	const eps = float32(1e-16)
	x = -x
	if float32(88.7) < x {
		x = 88.7
	}
	denom := float32(float32(expf(x)+1) + eps)
	return float32(1) / denom
}

// softmax is XGBoost's common::Softmax: float exponentials of the margins
// less their maximum (fmaxf, which ignores NaN), summed in double.
func softmax(margin, out []float32) {
	wmax := margin[0]
	for _, x := range margin[1:] {
		if x > wmax || wmax != wmax {
			wmax = x
		}
	}
	wsum := 0.0
	for k, x := range margin {
		out[k] = expf(float32(x - wmax))
		wsum += float64(out[k])
	}
	for k := range out {
		out[k] /= float32(wsum)
	}
}
