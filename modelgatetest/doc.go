// Package modelgatetest holds conformance suites that every implementation of
// a root interface must pass, so backends behave alike: TestRegistry for
// modelgate.Registry + Registrar (sqlite today, mlflow later) and
// TestPromotionStore for modelgate.PromotionStore. It also offers fixtures
// for other packages' tests: MustModelDir and a settable Clock.
//
// It is an ordinary package (importable from _test files elsewhere) that
// imports only the root package, the standard library and go-cmp; it must
// never import an adapter, or the suites would stop being backend-neutral.
package modelgatetest
