//go:build !linux

package kservetest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr is the default: the control plane's binaries start no
// children, so signalling the process alone stops it.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		return cmd.Process.Kill()
	}
	return cmd.Process.Signal(sig)
}
