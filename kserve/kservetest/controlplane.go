package kservetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// controlPlane is etcd and kube-apiserver run from the binaries
// scripts/kube-bin builds, on free loopback ports, with certificates,
// etcd's data and both logs in one temporary directory. It keeps what
// kservetest used of controller-runtime's envtest
// (pkg/internal/testing/controlplane): client-certificate authentication,
// the RBAC authorizer, the ServiceAccount admission plugin off (no
// controller manager creates tokens), a service-account signing key.
type controlPlane struct {
	dir     string         // removed by stop
	host    string         // https://127.0.0.1:port
	serving []byte         // PEM of the CA that signed the API server's certificate
	clients *certAuthority // signs client certificates; the API server's --client-ca-file
	procs   []*process     // in start order: etcd, kube-apiserver
}

const (
	startTimeout = time.Minute // envtest's 20s is too short on a busy 2-core machine
	stopTimeout  = 20 * time.Second
)

// startControlPlane starts etcd and kube-apiserver from the binaries in
// assets. It tries three times, as a port chosen free may be taken before
// the binary binds it.
func startControlPlane(assets string) (*controlPlane, error) {
	var errs []error
	for range 3 {
		p := &controlPlane{}
		err := p.start(assets)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err, p.stop())
	}
	return nil, errors.Join(errs...)
}

func (p *controlPlane) start(assets string) error {
	var err error
	if p.dir, err = os.MkdirTemp("", "kservetest-"); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcd := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if err := p.startEtcd(filepath.Join(assets, "etcd"), etcd, fmt.Sprintf("http://127.0.0.1:%d", ports[1])); err != nil {
		return err
	}
	return p.startAPIServer(filepath.Join(assets, "kube-apiserver"), etcd, ports[2])
}

func (p *controlPlane) startEtcd(bin, clientURL, peerURL string) error {
	proc, err := p.run(bin, "etcd",
		"--data-dir="+filepath.Join(p.dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync=true") // test data need not survive a crash
	if err != nil {
		return err
	}
	return proc.waitReady(&http.Client{Timeout: 5 * time.Second}, clientURL+"/health")
}

func (p *controlPlane) startAPIServer(bin, etcdURL string, port int) error {
	if err := p.writeCerts(); err != nil {
		return err
	}
	p.host = "https://127.0.0.1:" + strconv.Itoa(port)
	file := func(name string) string { return filepath.Join(p.dir, name) }
	proc, err := p.run(bin, "kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--cert-dir="+p.dir, "--tls-cert-file="+file("apiserver.crt"), "--tls-private-key-file="+file("apiserver.key"),
		"--client-ca-file="+file("client-ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer="+p.host+"/",
		"--service-account-key-file="+file("sa.pub"), "--service-account-signing-key-file="+file("sa.key"),
		"--disable-admission-plugins=ServiceAccount",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true")
	if err != nil {
		return err
	}
	admin, err := p.config("admin", "system:masters")
	if err != nil {
		return err
	}
	admin.Timeout = 5 * time.Second
	hc, err := rest.HTTPClientFor(admin)
	if err != nil {
		return err
	}
	return proc.waitReady(hc, p.host+"/readyz")
}

// writeCerts writes the API server's serving certificate, the client CA
// and the service-account key pair.
func (p *controlPlane) writeCerts() error {
	serving, err := newCertAuthority("kservetest-serving")
	if err != nil {
		return err
	}
	crt, key, err := serving.serving()
	if err != nil {
		return err
	}
	if p.clients, err = newCertAuthority("kservetest-clients"); err != nil {
		return err
	}
	saKey, saPub, err := serviceAccountKeys()
	if err != nil {
		return err
	}
	p.serving = serving.certPEM()
	files := map[string][]byte{"apiserver.crt": crt, "apiserver.key": key, "client-ca.crt": p.clients.certPEM(), "sa.key": saKey, "sa.pub": saPub}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// config returns a client configuration authenticating as user in groups
// with a client certificate. QPS and Burst are envtest's, high enough that
// client-side throttling does not slow the tests.
func (p *controlPlane) config(user string, groups ...string) (*rest.Config, error) {
	crt, key, err := p.clients.client(user, groups)
	if err != nil {
		return nil, fmt.Errorf("client certificate for %s: %w", user, err)
	}
	return &rest.Config{
		Host:            p.host,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.serving, CertData: crt, KeyData: key},
		QPS:             1000,
		Burst:           2000,
	}, nil
}

// stop ends kube-apiserver, then etcd, and removes the directory.
func (p *controlPlane) stop() error {
	var errs []error
	for i := len(p.procs) - 1; i >= 0; i-- {
		errs = append(errs, p.procs[i].stop())
	}
	if p.dir != "" {
		errs = append(errs, os.RemoveAll(p.dir))
	}
	return errors.Join(errs...)
}

// kubeconfig returns the contents of a kubeconfig file for cfg (server, CA
// and client certificate).
func kubeconfig(cfg *rest.Config) ([]byte, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kservetest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["kservetest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["kservetest"] = &clientcmdapi.Context{Cluster: "kservetest", AuthInfo: "kservetest"}
	kc.CurrentContext = "kservetest"
	return clientcmd.Write(*kc)
}

// freePorts returns n distinct loopback ports that are free now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// process is a running binary of the control plane, its output in a log
// file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once it has exited
}

func (p *controlPlane) run(bin, name string, args ...string) (*process, error) {
	return p.runEnv(bin, name, nil, args...)
}

// runEnv runs bin with env added to this process's environment.
func (p *controlPlane) runEnv(bin, name string, env []string, args ...string) (*process, error) {
	log := filepath.Join(p.dir, name+".log")
	out, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	proc := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(proc.done)
	}()
	p.procs = append(p.procs, proc)
	return proc, nil
}

// waitReady polls url until it answers 200 OK; an error, with the end of
// the log, when the process exits first or startTimeout passes.
func (proc *process) waitReady(hc *http.Client, url string) error {
	deadline := time.After(startTimeout)
	for {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.done:
			return fmt.Errorf("%s exited before it was ready; its log ends:\n%s", proc.name, proc.logTail())
		case <-deadline:
			return fmt.Errorf("%s not ready at %s within %s; its log ends:\n%s", proc.name, url, startTimeout, proc.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (proc *process) logTail() string {
	data, _ := os.ReadFile(proc.log)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// stop sends SIGTERM to the process group and SIGKILL after stopTimeout.
func (proc *process) stop() error {
	select {
	case <-proc.done:
		return nil
	default:
	}
	_ = signalGroup(proc.cmd, syscall.SIGTERM)
	select {
	case <-proc.done:
		return nil
	case <-time.After(stopTimeout):
		_ = signalGroup(proc.cmd, syscall.SIGKILL)
		<-proc.done
		return fmt.Errorf("%s did not stop within %s after SIGTERM; killed", proc.name, stopTimeout)
	}
}
