package gateway

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
)

// stopGrace is how long a stopped server may take to exit after SIGTERM
// before it is killed.
const stopGrace = 5 * time.Second

// process is an external model server the gateway started: its own process
// group on a port chosen for it, its output kept for error messages.
type process struct {
	cmd  *exec.Cmd
	addr string // 127.0.0.1:port
	out  *tailBuffer
	done chan struct{} // closed when the process has exited

	mu      sync.Mutex
	err     error // why it exited; set before done is closed
	stopped bool
}

// startProcess starts spec.Command for d on a free port.
func startProcess(spec UpstreamSpec, d modelgate.Deployment, name string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "choose a port for the upstream: " + err.Error(), Err: err}
	}
	r := strings.NewReplacer("{port}", strconv.Itoa(port), "{model_dir}", d.ModelDir, "{name}", name, "{version}", d.Version)
	argv := make([]string, len(spec.Command))
	for i, a := range spec.Command {
		argv[i] = r.Replace(a)
	}
	p := &process{addr: "127.0.0.1:" + strconv.Itoa(port), out: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = spec.Dir
	p.cmd.Env = append(os.Environ(), spec.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "start upstream %q: %v", strings.Join(argv, " "), err)
	}
	spec.Logger.Info("upstream started", "model", d.Model, "version", d.Version, "pid", p.cmd.Process.Pid, "addr", p.addr)
	go p.wait()
	return p, nil
}

func (p *process) wait() {
	err := p.cmd.Wait()
	p.mu.Lock()
	if p.stopped {
		p.err = modelgate.Errorf(modelgate.EUNAVAILABLE, "upstream on %s was stopped", p.addr)
	} else {
		p.err = modelgate.Errorf(modelgate.EUNAVAILABLE, "upstream on %s exited (%v); its output ends with: %s", p.addr, exitDescription(err), p.out.String())
	}
	p.mu.Unlock()
	close(p.done)
}

func exitDescription(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// exited returns why the process exited, nil while it runs.
func (p *process) exited() error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	default:
		return nil
	}
}

// tail returns the process's last output.
func (p *process) tail() string { return p.out.String() }

// stop sends SIGTERM to the process group, then SIGKILL after stopGrace.
func (p *process) stop() error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = signalGroup(p.cmd.Process.Pid, false)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = signalGroup(p.cmd.Process.Pid, true)
		<-p.done
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no output)"
	}
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return fmt.Sprintf("%q", s)
}
