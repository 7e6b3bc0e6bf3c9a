// Package examples bundles the example model directories and data sets into
// the binary, so `modelgate demo` runs on a machine with nothing else
// installed. The files themselves are produced by
// demand-forecast/generate.py (see demand-forecast/README.md).
package examples
