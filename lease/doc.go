// Package lease names the holder of a promotion lock by host and process,
// and tells whether a holder on this host is still running. A crashed
// `modelgate promote` leaves its lock behind; on the same host its process
// is known to be gone at once, so `--resume`, `rollback` and `abort` need not
// wait for the lease to expire. A holder on another host is never declared
// gone here: its lease's expiry (seconds, renewed in the background by a
// live holder) decides.
//
// It imports only the standard library; the promotion engine receives Gone
// as a function, so policy stays free of operating-system calls.
package lease
