// Package leader elects one leader among the replicas of `modelgate server`
// through a Kubernetes Lease (coordination.k8s.io/v1). Only the leader runs
// promotions; the others serve the API and wait.
//
// It follows client-go's tools/leaderelection algorithm (acquire when the
// Lease is free or its record has not changed for LeaseDuration by this
// process's clock; renew every RetryPeriod; give up after RenewDeadline
// without a renewal; optimistic updates on resourceVersion; release on a
// clean stop) but is written here on the dynamic client the binary already
// has: client-go's package imports the whole typed clientset and its
// informers, which added 21 MB to the release binary. The entry point is
// Elector.Run, which calls a function while this process leads and cancels
// it when the Lease is lost.
package leader
