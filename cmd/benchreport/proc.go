package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports (the kernel fixes it for user space).
const clockTicks = 100

// procStat is what benchreport needs from /proc/PID/stat and status.
type procStat struct {
	pid, ppid int
	cpuTicks  int64 // utime+stime+cutime+cstime: the process and its reaped children
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	// The command name may hold spaces and parentheses: fields follow the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	p := procStat{pid: pid}
	p.ppid, _ = strconv.Atoi(f[1])
	for _, k := range f[11:15] { // fields 14-17: utime stime cutime cstime
		v, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		p.cpuTicks += v
	}
	return p, nil
}

// tree returns root and its live descendants.
func tree(root int) ([]procStat, error) {
	r, err := readStat(root)
	if err != nil {
		return nil, fmt.Errorf("server process %d: %w", root, err)
	}
	all := map[int][]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == root {
			continue
		}
		if p, err := readStat(pid); err == nil { // a process may exit meanwhile
			all[p.ppid] = append(all[p.ppid], p)
		}
	}
	out := []procStat{r}
	for i := 0; i < len(out); i++ {
		out = append(out, all[out[i].pid]...)
	}
	return out, nil
}

// treeCPU is the CPU seconds (user+system) the server and all its
// processes, live or reaped, have used.
func treeCPU(root int) (float64, error) {
	ps, err := tree(root)
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, p := range ps {
		ticks += p.cpuTicks
	}
	return float64(ticks) / clockTicks, nil
}

// treeHWM sums VmHWM (peak resident set) over the server's live processes:
// an upper bound of the tree's peak, since their peaks need not coincide.
func treeHWM(root int) (kib int64, procs int, err error) {
	ps, err := tree(root)
	if err != nil {
		return 0, 0, err
	}
	for _, p := range ps {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				kib += n
				procs++
			}
		}
	}
	return kib, procs, nil
}
