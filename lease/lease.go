package lease

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Self names this process as a lock holder: "host:pid:start", where start
// identifies this incarnation of the pid (its start time where the system
// tells it), so a recycled pid is not mistaken for the holder.
func Self() string {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return fmt.Sprintf("%s:%d:%s", host, pid, startTime(pid))
}

// Gone reports whether owner (as Self names it) is a process on this host
// that no longer runs. Any other owner, or one it cannot tell, is not gone.
func Gone(owner string) bool {
	host, pid, start, ok := parse(owner)
	if self, _ := os.Hostname(); !ok || host != self || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	// The pid runs: it is the holder unless it is a later process that
	// reused the pid.
	now := startTime(pid)
	return start != "" && now != "" && now != start
}

func parse(owner string) (host string, pid int, start string, ok bool) {
	parts := strings.Split(owner, ":")
	if len(parts) != 3 {
		return "", 0, "", false
	}
	pid, err := strconv.Atoi(parts[1])
	return parts[0], pid, parts[2], err == nil
}

// startTime reads a process's start time in clock ticks since boot from
// /proc (Linux); "" where there is no /proc.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis. starttime is field 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
