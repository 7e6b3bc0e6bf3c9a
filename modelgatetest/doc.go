// Package modelgatetest holds conformance suites that every implementation of
// a root interface must pass, so backends behave alike (the testing/fstest
// idea): TestRegistry for modelgate.Registry + Registrar (sqlite, mlflow),
// TestPromotionStore for modelgate.PromotionStore (sqlite), TestDeployer for
// modelgate.Deployer (gateway, kserve), TestMetricsSource for
// modelgate.MetricsSource (gateway, prometheus, payload) and TestNotifier for
// modelgate.Notifier (smtp, webhook). Each takes an open function that
// returns a subject: the implementation and what the suite cannot make
// itself (artifacts, traffic, a receiver, a way to wait for a platform that
// lags). It also offers fixtures for other packages' tests: MustModelDir, a
// settable Clock, ServedVersion, WantNotifyFailure, MLflowVenv (the
// integration tests' Python) and, for fuzz targets,
// WantBoundedAlloc.
//
// It is an ordinary package (importable from _test files elsewhere) that
// imports only the root package, the standard library and go-cmp; it must
// never import an adapter, or the suites would stop being backend-neutral.
package modelgatetest
