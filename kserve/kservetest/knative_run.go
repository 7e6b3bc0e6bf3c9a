package kservetest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// knativeAutoscalerIP is the address the autoscaler advertises for its
// stats server (POD_IP): Kubernetes refuses loopback addresses in the
// Endpoints the autoscaler writes for it, so it is one of TEST-NET-1
// (RFC 5737). Nothing dials it: a single autoscaler owns every bucket and
// no activator or queue-proxy runs.
const knativeAutoscalerIP = "192.0.2.10"

// env is the environment Knative's deployments give a component
// (config/core/deployments), with the kubeconfig of the cluster's admin
// in place of the pod's service account. Nothing is inherited from the
// test's environment.
func (k *Knative) env(component string) []string {
	return []string{
		"HOME=" + k.Dir,
		"KUBECONFIG=" + filepath.Join(k.Dir, "kubeconfig"),
		"SYSTEM_NAMESPACE=" + KnativeNamespace,
		"POD_NAME=" + component + "-kservetest",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
	}
}

// writeKubeconfig writes the components' kubeconfig (cluster-admin, as
// Knative's controller ClusterRole is close to it).
func (k *Knative) writeKubeconfig() error {
	kc, err := kubeconfig(k.c.Admin)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(k.Dir, "kubeconfig"), kc, 0o600)
}

// startController runs the controller or the autoscaler.
func (k *Knative) startController(bin, name string) error {
	env := k.env(name)
	if name == "autoscaler" {
		env = append(env, "POD_IP="+knativeAutoscalerIP)
	}
	_, err := k.startProcess(bin, name, env, nil)
	return err
}

// startProcess starts a component with its output in Dir/name.log, in a
// network namespace of its own that reaches only the API server, and is
// reached on the ports of expose (listeners on the test's loopback, whose
// port numbers the component binds in its namespace).
func (k *Knative) startProcess(bin, name string, env []string, expose []net.Listener) (*process, error) {
	if _, err := os.Stat(filepath.Join(k.Dir, "kubeconfig")); errors.Is(err, os.ErrNotExist) {
		if err := k.writeKubeconfig(); err != nil {
			return nil, err
		}
	}
	log := filepath.Join(k.Dir, name+".log")
	out, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(bin, name))
	cmd.Env = env
	cmd.Dir = k.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	proc := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	port, err := k.apiPort()
	if err != nil {
		return nil, err
	}
	ns, err := startInNetns(cmd, []int{port}, expose, proc.done)
	if err != nil {
		return nil, fmt.Errorf("start Knative's %s: %w", name, err)
	}
	k.nets = append(k.nets, ns)
	go func() {
		_ = cmd.Wait()
		close(proc.done)
	}()
	k.procs = append(k.procs, proc)
	return proc, nil
}

// apiPort is the API server's loopback port.
func (k *Knative) apiPort() (int, error) {
	u, err := url.Parse(k.c.Admin.Host)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Port())
}
