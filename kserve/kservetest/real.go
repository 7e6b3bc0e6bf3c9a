package kservetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// GatewayAPIModule is where StartReal takes the Gateway API's HTTPRoute and
// Gateway CRDs from.
const GatewayAPIModule = "sigs.k8s.io/gateway-api@v1.5.1"

// RealOptions chooses how StartReal plays the parts around KServe.
type RealOptions struct {
	// Knative runs Knative Serving's own webhook, controller and autoscaler
	// (StartKnative, with its stand-ins for revision pods, endpoints and
	// KIngress status) for InferenceServices in Knative (Serverless) mode.
	// When false, the Knative Service stand-in writes each Knative
	// Service's status, as KServe's own controller tests do, and nothing
	// else.
	Knative bool
}

// Real is KServe's controller manager running against the test API server,
// with the stand-ins for what no node runs here.
type Real struct {
	// Kubelet marks Deployments available (and can hold some back).
	Kubelet *Kubelet
	// Ksvc writes Knative Services' status when RealOptions.Knative is false.
	Ksvc *KsvcStandIn
	// Knative is Knative Serving's real controllers when RealOptions.Knative.
	Knative *Knative
	// ManagerLog is the controller manager's log file.
	ManagerLog string
}

// KServeBinDir is $MODELGATE_KSERVE_BIN, else the module's .cache/kserve-bin,
// where scripts/kserve-bin puts KServe's controller manager.
func KServeBinDir() string {
	if d := os.Getenv("MODELGATE_KSERVE_BIN"); d != "" {
		return d
	}
	return filepath.Join(ModuleRoot(), ".cache", "kserve-bin")
}

// StartReal starts etcd and the API server as Start does, then KServe
// v0.20.0's real controller manager (built by scripts/kserve-bin) with its
// own CRDs, its unmodified inferenceservice-config ConfigMap, its webhooks
// served through the API server, the default ClusterStorageContainer and
// its ClusterServingRuntimes, all from KServe's module. Knative
// Serving's CRDs come from its module; the Gateway API's HTTPRoute CRDs from
// theirs. The stand-ins (Kubelet, and KsvcStandIn unless opts.Knative) run
// until Stop. Nothing but KServe writes InferenceService status.
func StartReal(opts RealOptions) (*Cluster, error) {
	mgr := filepath.Join(KServeBinDir(), "manager")
	if _, err := os.Stat(mgr); err != nil {
		return nil, fmt.Errorf("%w: no KServe controller manager at %s: run scripts/kserve-bin (or set MODELGATE_KSERVE_BIN)", ErrNotInstalled, mgr)
	}
	c, err := startPlane()
	if err != nil {
		return nil, err
	}
	if err := c.setupReal(mgr, opts); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) setupReal(mgr string, opts RealOptions) error {
	dirs, err := moduleDirs(KServeModule, KnativeServingModule, GatewayAPIModule)
	if err != nil {
		return err
	}
	kserve, knative := dirs[KServeModule], dirs[KnativeServingModule]
	if err := c.setupCommon(realCRDs(dirs, opts)); err != nil {
		return err
	}
	c.Real = &Real{}
	if opts.Knative { // before KServe, which looks for the Knative Service CRD when it starts
		if c.Real.Knative, err = c.StartKnative(""); err != nil {
			return err
		}
	}
	if err := c.installKServeConfig(kserve, knative, opts.Knative); err != nil {
		return err
	}
	if err := c.startManager(mgr); err != nil {
		return err
	}
	if err := c.registerKServeWebhooks(filepath.Join(kserve, "config/webhook/manifests.yaml")); err != nil {
		return err
	}
	runtimes, err := filepath.Glob(filepath.Join(kserve, "config/runtimes/kserve-*.yaml"))
	if err != nil {
		return err
	}
	if err := c.applyFiles(append([]string{filepath.Join(kserve, "config/storagecontainers/default.yaml")}, runtimes...)...); err != nil {
		return err
	}
	return c.startStandIns(opts)
}

// moduleDirs fetches each module (path@version) and returns its directory
// by module.
func moduleDirs(modules ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range modules {
		dir, err := moduleDir(m)
		if err != nil {
			return nil, err
		}
		out[m] = dir
	}
	return out, nil
}

// realCRDs are the CRD files StartReal installs: KServe's own, the Istio
// VirtualService KServe's tests use, the Gateway API's HTTPRoute and
// Gateway, and (without Knative's controllers, which bring theirs)
// Knative's Service.
func realCRDs(dirs map[string]string, opts RealOptions) []string {
	kserve, gw := dirs[KServeModule], dirs[GatewayAPIModule]
	crds := []string{filepath.Join(kserve, "test/crds/istio_virtualservice.yaml")}
	for _, f := range []string{"serving.kserve.io_inferenceservices", "serving.kserve.io_servingruntimes", "serving.kserve.io_clusterservingruntimes",
		"serving.kserve.io_trainedmodels", "serving.kserve.io_inferencegraphs", "clusterstoragecontainer/serving.kserve.io_clusterstoragecontainers"} {
		crds = append(crds, filepath.Join(kserve, "config/crd/full", f+".yaml"))
	}
	for _, f := range []string{"httproutes", "gateways"} {
		crds = append(crds, filepath.Join(gw, "config/crd/standard/gateway.networking.k8s.io_"+f+".yaml"))
	}
	if !opts.Knative {
		crds = append(crds, filepath.Join(dirs[KnativeServingModule], "config/core/300-resources/service.yaml"))
	}
	return crds
}

// installKServeConfig creates the kserve namespace with KServe's unmodified
// inferenceservice-config, and the Knative configuration KServe reads.
func (c *Cluster) installKServeConfig(kserve, knative string, withKnative bool) error {
	if err := c.CreateNamespaces("kserve"); err != nil {
		return err
	}
	if err := c.applyFiles(filepath.Join(kserve, "config/configmap/inferenceservice.yaml")); err != nil {
		return err
	}
	return c.applyKnativeAutoscalerConfig(knative, withKnative)
}

// applyKnativeAutoscalerConfig creates knative-serving/config-autoscaler
// from Knative's module: KServe reads it for every Knative-mode
// InferenceService (allow-zero-initial-scale). With Knative's own
// controllers StartKnative installs it with the rest of their
// configuration.
func (c *Cluster) applyKnativeAutoscalerConfig(knative string, withKnative bool) error {
	if withKnative {
		return nil
	}
	if err := c.CreateNamespaces("knative-serving"); err != nil {
		return err
	}
	return c.applyFiles(filepath.Join(knative, "config/core/configmaps/autoscaler.yaml"))
}

// startManager runs KServe's controller manager as cluster-admin with its
// webhook server on a free port (it binds every interface: KServe's main
// sets no host) and its certificate in a directory of its own, and waits
// until its readiness probe (the webhook server started) answers.
func (c *Cluster) startManager(bin string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.plane.dir, "kserve-manager")
	certDir := filepath.Join(tmp, "k8s-webhook-server", "serving-certs") // controller-runtime's default under $TMPDIR
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	if c.webhookCA, err = newCertAuthority("kservetest-webhooks"); err != nil {
		return err
	}
	crt, key, err := c.webhookCA.serving()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"tls.crt": crt, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
			return err
		}
	}
	kc, err := c.adminKubeconfig()
	if err != nil {
		return err
	}
	c.webhookPort = ports[0]
	proc, err := c.plane.runEnv(bin, "kserve-manager",
		[]string{"KUBECONFIG=" + kc, "POD_NAMESPACE=kserve", "TMPDIR=" + tmp},
		"-metrics-addr=0",
		"-health-probe-addr=127.0.0.1:"+strconv.Itoa(ports[1]),
		"-webhook-port="+strconv.Itoa(ports[0]))
	if err != nil {
		return err
	}
	c.Real.ManagerLog = proc.log
	return proc.waitReady(&http.Client{Timeout: 5 * time.Second}, "http://127.0.0.1:"+strconv.Itoa(ports[1])+"/readyz")
}

// adminKubeconfig writes (once) a cluster-admin kubeconfig for the
// controllers the tests run as processes.
func (c *Cluster) adminKubeconfig() (string, error) {
	path := filepath.Join(c.plane.dir, "admin.kubeconfig")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	kc, err := kubeconfig(c.Admin)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, kc, 0o600)
}

// registerKServeWebhooks registers KServe's webhook configurations from
// its manifests with each clientConfig pointed at the manager's webhook
// server on the loopback address, so the API server calls KServe's real
// defaulter and validators on every write, as in a cluster.
func (c *Cluster) registerKServeWebhooks(manifests string) error {
	objs, err := readYAML(manifests)
	if err != nil {
		return err
	}
	base := "https://127.0.0.1:" + strconv.Itoa(c.webhookPort)
	for _, o := range objs {
		hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
		for i, h := range hooks {
			h := h.(map[string]any)
			path, _, _ := unstructured.NestedString(h, "clientConfig", "service", "path")
			h["clientConfig"] = map[string]any{"url": base + path, "caBundle": base64.StdEncoding.EncodeToString(c.webhookCA.certPEM())}
			hooks[i] = h
		}
		if err := unstructured.SetNestedSlice(o.Object, hooks, "webhooks"); err != nil {
			return err
		}
	}
	return c.applyObjects(objs)
}

// startStandIns runs the stand-ins until Stop.
func (c *Cluster) startStandIns(opts RealOptions) error {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.Real.Kubelet = NewKubelet(c.Dyn)
	go c.Real.Kubelet.Run(ctx)
	if !opts.Knative {
		c.Real.Ksvc = NewKsvcStandIn(c.Dyn)
		go c.Real.Ksvc.Run(ctx)
	}
	return nil
}

// WaitISVC polls the InferenceService ns/name until cond holds, up to
// timeout; the error carries its last status.
func (c *Cluster) WaitISVC(ctx context.Context, ns, name string, timeout time.Duration, cond func(*unstructured.Unstructured) bool) (*unstructured.Unstructured, error) {
	deadline := time.Now().Add(timeout)
	var last *unstructured.Unstructured
	for time.Now().Before(deadline) {
		obj, err := c.Dyn.Resource(ISVC).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = obj
			if cond(obj) {
				return obj, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		return nil, fmt.Errorf("InferenceService %s/%s: not found within %s", ns, name, timeout)
	}
	st, _, _ := unstructured.NestedMap(last.Object, "status")
	return nil, fmt.Errorf("InferenceService %s/%s: condition not met within %s; status %v", ns, name, timeout, st)
}

// Events returns the events recorded for the object ns/name, oldest first,
// as "Type Reason: Message" lines (KServe records why it rejects or fails
// an InferenceService there).
func (c *Cluster) Events(ctx context.Context, ns, name string) ([]string, error) {
	list, err := c.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message))
	}
	return out, nil
}
