package kservetest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the binary in its own process group, so stopping it
// signals anything it started too, and has the kernel kill it when the
// test binary dies without stopping it (a timeout's panic, a crash).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to cmd's process group.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
