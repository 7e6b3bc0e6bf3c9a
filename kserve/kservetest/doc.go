// Package kservetest is test support for code that drives KServe.
//
// Start runs a real kube-apiserver and etcd (binaries from .cache/kube-bin
// or $KUBEBUILDER_ASSETS, started by controlplane.go on loopback ports with
// generated certificates, as controller-runtime's envtest would) with RBAC
// on, the real InferenceService CRD of kserve v0.20.0 and the PrometheusRule
// CRD of prometheus-operator v0.85.0 (fetched through the Go module proxy,
// not copied), the playbook's namespaces and service accounts,
// deploy/rbac.yaml applied, and a kubeconfig file for the RBAC-limited
// identity system:serviceaccount:mlops:modelgate.
//
// StartReal adds KServe v0.20.0's real controller manager (scripts/kserve-bin)
// with its CRDs, webhooks, inferenceservice-config and serving runtimes, and,
// with RealOptions.Knative, Knative Serving v0.48.1's own webhook, controller
// and autoscaler (StartKnative, scripts/knative-bin). What no node can do
// here is played by narrow stand-ins, none of which writes an
// InferenceService's status: Kubelet (Deployment status and pods),
// KsvcStandIn (a Knative Service's status, when Knative's controllers do
// not run, as KServe's own tests do), Gateway (HTTPRoute status), and
// StartKnative's revision pods, private endpoints, activator endpoints and
// KIngress status. docs/KSERVE.md lists what each pretends and why.
//
// It is imported by tests only (kserve's, cmd/modelgate's, deploy's and
// leader's); it may import anything a test may.
package kservetest
