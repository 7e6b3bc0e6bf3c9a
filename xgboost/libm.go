package xgboost

import (
	"math"
	"math/big"
)

// XGBoost calls C's expf and logf, which on glibc (2.27 up to at least
// 2.36, Debian 12's) are ARM's optimized-routines algorithms: a double
// computation rounded to float, within 0.502 ULP (expf) and 0.82 ULP (logf)
// but not correctly rounded. Rounding math.Exp or math.Log to float32
// differs from them in about 1 in 1,700 (expf) and 1 in 250 (logf) inputs,
// so both are reproduced here, operation by operation (the explicit float64
// conversions keep Go from fusing a multiply and an add where glibc does
// not). The algorithms and constants are facts of that library; the
// tables for expf are computed, logf's are its published constants. A glibc
// with correctly rounded expf/logf (CORE-MATH) may differ in the last bit
// for the rare inputs where the two disagree.

// expf constants: exp(x) = 2^(k/32) * 2^(r/32) with a cubic in r.
const (
	expBits    = 5
	expN       = 1 << expBits
	invLn2N    = 0x1.71547652b82fep+0 * expN
	expShift   = 0x1.8p+52
	expC0      = 0x1.c6af84b912394p-5 / expN / expN / expN
	expC1      = 0x1.ebfce50fac4f3p-3 / expN / expN
	expC2      = 0x1.62e42ff0c52d6p-1 / expN
	expOflow   = float32(0x1.62e42ep6)  // above this expf overflows
	expUflow   = float32(-0x1.9fe368p6) // below this it underflows to 0
	expBigTop  = 0x42b                  // top 12 bits of 88.0f
	expInfTop  = 0x7f8                  // top 12 bits of +Inf
	expNegInfB = 0xff800000
)

// exp2Table holds 2^(i/32) as float64 bits less i<<47, so that adding k<<47
// scales by 2^(k/32). It is computed once and only read.
var exp2Table = makeExp2Table()

// makeExp2Table computes 2^(i/32) correctly rounded: five square roots of
// 2^i at 256-bit precision.
func makeExp2Table() [expN]uint64 {
	var t [expN]uint64
	for i := range expN {
		x := new(big.Float).SetPrec(256).SetMantExp(big.NewFloat(1), i)
		for range expBits {
			x.Sqrt(x)
		}
		f, _ := x.Float64()
		t[i] = math.Float64bits(f) - uint64(i)<<(52-expBits)
	}
	return t
}

// expf is glibc's expf.
func expf(x float32) float32 {
	if top := math.Float32bits(x) >> 20 & 0x7ff; top >= expBigTop {
		switch {
		case math.Float32bits(x) == expNegInfB:
			return 0
		case top >= expInfTop:
			return x + x
		case x > expOflow:
			return float32(math.Inf(1))
		case x < expUflow:
			return 0
		}
	}
	xd := float64(x)
	z := float64(invLn2N * xd)
	kd := float64(z + expShift)
	ki := math.Float64bits(kd)
	kd -= expShift
	r := z - kd
	t := exp2Table[ki%expN] + ki<<(52-expBits)
	s := math.Float64frombits(t)
	zz := float64(expC0*r) + expC1
	r2 := r * r
	y := float64(expC2*r) + 1
	y = float64(zz*r2) + y
	return float32(y * s)
}

// logf constants: log(x) = k ln2 + log(c) + poly(z/c - 1) over 16
// subintervals of [0x1.66p-1, 0x1.66p0) (e_logf_data.c).
var logfTable = [16]struct{ invc, logc float64 }{
	{0x1.661ec79f8f3bep+0, -0x1.57bf7808caadep-2},
	{0x1.571ed4aaf883dp+0, -0x1.2bef0a7c06ddbp-2},
	{0x1.49539f0f010bp+0, -0x1.01eae7f513a67p-2},
	{0x1.3c995b0b80385p+0, -0x1.b31d8a68224e9p-3},
	{0x1.30d190c8864a5p+0, -0x1.6574f0ac07758p-3},
	{0x1.25e227b0b8eap+0, -0x1.1aa2bc79c81p-3},
	{0x1.1bb4a4a1a343fp+0, -0x1.a4e76ce8c0e5ep-4},
	{0x1.12358f08ae5bap+0, -0x1.1973c5a611cccp-4},
	{0x1.0953f419900a7p+0, -0x1.252f438e10c1ep-5},
	{0x1p+0, 0x0p+0},
	{0x1.e608cfd9a47acp-1, 0x1.aa5aa5df25984p-5},
	{0x1.ca4b31f026aap-1, 0x1.c5e53aa362eb4p-4},
	{0x1.b2036576afce6p-1, 0x1.526e57720db08p-3},
	{0x1.9c2d163a1aa2dp-1, 0x1.bc2860d22477p-3},
	{0x1.886e6037841edp-1, 0x1.1058bc8a07ee1p-2},
	{0x1.767dcf5534862p-1, 0x1.4043057b6ee09p-2},
}

const (
	logLn2 = 0x1.62e42fefa39efp-1
	logA0  = -0x1.00ea348b88334p-2
	logA1  = 0x1.5575b0be00b6ap-2
	logA2  = -0x1.ffffef20a4123p-2
	logOff = 0x3f330000
)

// logf is glibc's logf.
func logf(x float32) float32 {
	ix := math.Float32bits(x)
	if ix == 0x3f800000 {
		return 0
	}
	if ix-0x00800000 >= 0x7f800000-0x00800000 {
		switch {
		case ix<<1 == 0:
			return float32(math.Inf(-1))
		case ix == 0x7f800000:
			return x
		case ix>>31 != 0 || ix<<1 >= 0xff000000:
			return float32(math.NaN())
		}
		ix = math.Float32bits(x*0x1p23) - 23<<23 // subnormal: normalize
	}
	tmp := ix - logOff
	e := logfTable[(tmp>>(23-4))%16]
	k := int32(tmp) >> 23
	z := float64(math.Float32frombits(ix - tmp&(0x1ff<<23)))
	r := float64(z*e.invc) - 1
	y0 := e.logc + float64(float64(k)*logLn2)
	r2 := r * r
	y := float64(logA1*r) + logA2
	y = float64(logA0*r2) + y
	y = float64(y*r2) + (y0 + r)
	return float32(y)
}
