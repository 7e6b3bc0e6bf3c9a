package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; 100 on every
// Linux the benchmark runs on (getconf CLK_TCK).
const clockTicks = 100

// proc is a process the bench started, pinned to one core.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File // its stdout and stderr, for errors
}

// startPinned runs argv on core with taskset, so the process keeps that
// core's PID (taskset execs it) and Go sees GOMAXPROCS=1.
func startPinned(name string, core int, logDir string, env []string, argv ...string) (*proc, error) {
	out, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(core)}, argv...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &proc{name: name, cmd: cmd, out: out}, nil
}

// stop ends the process group with SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	p.out.Close()
}

// logTail is the end of the process's output, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.out.Name())
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// cpuTicks is the CPU time (utime+stime, in clock ticks) of pid and of its
// living descendants (nginx's worker).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	total, err := parseStatTicks(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	for _, c := range children(pid) {
		t, err := cpuTicks(c)
		if err == nil {
			total += t
		}
	}
	return total, nil
}

// parseStatTicks sums utime and stime, fields 14 and 15 of a stat line;
// the command name (field 2) may hold spaces, so fields are counted after
// its closing parenthesis.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("utime %q or stime %q is not a number", f[11], f[12])
	}
	return u + s, nil
}

// children lists pid's child processes from every thread's children file.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// freePort returns a loopback port free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitLine waits until the process's output holds a line starting with
// prefix, or it exits, or timeout passes.
func waitLine(ctx context.Context, p *proc, prefix string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		f, err := os.Open(p.out.Name())
		if err == nil {
			found := scanFor(f, prefix)
			f.Close()
			if found {
				return nil
			}
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not print %q within %s: %s", p.name, prefix, timeout, p.logTail())
}

func scanFor(r io.Reader, prefix string) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return true
		}
	}
	return false
}

// sleeps is how often pid's threads and its living descendants' have gone to
// sleep: the sum of voluntary_ctxt_switches in /proc/PID/task/*/status. A
// proxy that sleeps has to be woken by the next packet, and on another core
// that wake-up costs the sender an interrupt (see coreIPIs). A thread that
// ends takes its count with it: the proxies measured keep theirs.
func sleeps(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no threads of process %d in /proc", pid)
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that ended since the glob
		}
		if n, ok := parseVoluntary(string(b)); ok {
			total += n
		}
	}
	for _, c := range children(pid) {
		if n, err := sleeps(c); err == nil {
			total += n
		}
	}
	return total, nil
}

// parseVoluntary finds voluntary_ctxt_switches in a status file.
func parseVoluntary(status string) (int64, bool) {
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// coreIPIs is, for cores 0 and 1, how many interrupts other cores have sent
// each to wake or preempt a task on it: the rescheduling (RES) and
// function-call (CAL) rows of /proc/interrupts, as x86 Linux names them.
// ok is false where the file has neither row.
func coreIPIs() (ipis [2]int64, ok bool) {
	b, err := os.ReadFile("/proc/interrupts")
	if err != nil {
		return ipis, false
	}
	return parseIPIs(string(b))
}

func parseIPIs(text string) (ipis [2]int64, ok bool) {
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 3 || (f[0] != "RES:" && f[0] != "CAL:") {
			continue
		}
		for core := range ipis {
			n, err := strconv.ParseInt(f[1+core], 10, 64)
			if err != nil {
				return [2]int64{}, false
			}
			ipis[core] += n
		}
		ok = true
	}
	return ipis, ok
}
