// Package kservetest is test support for code that drives KServe: Start runs
// a real kube-apiserver and etcd (binaries from .cache/kube-bin or
// $KUBEBUILDER_ASSETS, started by controlplane.go on loopback ports with
// generated certificates, as controller-runtime's envtest would) with RBAC
// on, the real InferenceService CRD of kserve v0.20.0 and the PrometheusRule
// CRD of prometheus-operator v0.85.0 (both fetched through the Go module
// proxy, not copied), the playbook's namespaces and service accounts,
// deploy/rbac.yaml applied, and a kubeconfig file for the RBAC-limited
// identity system:serviceaccount:mlops:modelgate. Controller plays the KServe
// controller and Knative by writing status.
//
// It is imported by tests only (kserve's and cmd/modelgate's); it may import
// anything a test may.
package kservetest
