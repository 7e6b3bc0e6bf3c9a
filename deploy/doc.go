// Package deploy holds no code: its tests check what deploy/ ships for
// running modelgate in a cluster and in a pipeline, against a real
// kube-apiserver (kserve/kservetest) and the real modelgate binary:
//
//   - helm/modelgate, the Helm chart of `modelgate server`: rendered with
//     the Helm library, linted, its modelgate.yaml loaded by modelgate, its
//     RBAC compared with rbac.yaml, and applied (server-side) to the API
//     server, where its service account's permissions are exercised;
//   - examples/, a Kubernetes Job, a GitHub Actions workflow and an Argo
//     WorkflowTemplate that run `modelgate promote`: their command lines are
//     parsed by modelgate itself, the Job and the WorkflowTemplate's pod spec
//     applied, and the shell that branches on promote's exit code run against
//     a stub modelgate for each code.
package deploy
