// Package leader elects one leader among the replicas of `modelgate server`
// through a Kubernetes Lease (coordination.k8s.io/v1), with client-go's
// tools/leaderelection and a resourcelock.LeaseLock. Only the leader runs
// promotions; the others serve the API and wait.
//
// It wraps Kubernetes leases only: it imports the root package for errors,
// client-go's leader election and the typed coordination client built from a
// rest.Config the caller loads (cmd/modelgate uses kserve.RESTConfig). The
// entry point is Elector.Run, which calls a function while this process
// leads and cancels it when the lease is lost.
package leader
