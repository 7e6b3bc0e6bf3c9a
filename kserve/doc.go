// Package kserve implements modelgate.Deployer over a Kubernetes API server
// running KServe: every model version is an InferenceService
// (serving.kserve.io/v1beta1) rendered by Render and applied with server-side
// apply under the field manager "modelgate" (or written as manifests in GitOps
// mode), and the canary is KServe's Knative-mode canaryTrafficPercent, verified
// from status.components.predictor. Entry point: New.
//
// In raw mode (Options.DeploymentMode "raw", KServe's RawDeployment) KServe
// splits nothing, so modelgate runs the canary (raw.go): the candidate is a
// second InferenceService NAME-canary, and a route modelgate owns (a
// Gateway API HTTPRoute or an Istio VirtualService) weighs the two
// predictor Services KServe creates (NAME-predictor,
// NAME-canary-predictor); readiness is read from the predictor Deployment
// too, and the route's acceptance from its status. docs/KSERVE.md has the
// steps and the KServe facts behind them.
//
// It imports the root package, client-go and apimachinery only: no KServe Go
// types (they drag in KServe's replace lines), so the InferenceService is an
// unstructured object and its status a few local structs. Nor the typed
// clientset (k8s.io/client-go/kubernetes, about 40 MB of the binary): built-in
// resources go through the dynamic client too, and /version, discovery and
// pods/log through a plain REST client (newClients).
//
// KServe facts it relies on (kserve v0.20.0):
//   - canaryTrafficPercent N splits latest N / last rolled-out 100−N only once a
//     revision has been rolled out (reconcilers/knative/ksvc_reconciler.go);
//   - 0 keeps every request on the last rolled-out revision: it re-routes and
//     does not restore the spec, so Rollback also re-applies the previous
//     version's spec (the playbook's step 7 reads 0 as "no canary"; KServe
//     reads it as "all traffic to the previous revision");
//   - latestRolledoutRevision advances only when the latest ready revision
//     takes 100% (pkg/apis/serving/v1beta1/inference_service_status.go).
//   - in RawDeployment mode canaryTrafficPercent is ignored (kserve#5335),
//     spec.canary[] creates Deployments but routes every request to the
//     stable one (its weights came after v0.20.0, kserve#5912), and
//     status.observedGeneration is the predictor Deployment's, not the
//     InferenceService's (PropagateRawStatus).
package kserve
