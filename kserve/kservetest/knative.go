package kservetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// KnativeServingModule is where Knative Serving's CRDs and config maps
// come from (config/core/300-resources, config/core/configmaps); the
// networking CRDs and config-network come from knative.dev/networking and
// the Image CRD from knative.dev/caching, at the versions its go.mod
// requires (Knative's repository links them in through vendor/, which the
// module zip leaves out).
const KnativeServingModule = "knative.dev/serving@v0.48.1"

// KnativeNamespace is Knative Serving's system namespace.
const KnativeNamespace = "knative-serving"

// Knative Serving's resources the tests read.
var (
	KnativeService  = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
	KnativeRevision = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
	KnativeIngress  = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}
)

// knativeComponents are the binaries scripts/knative-bin builds, in start
// order: the webhook first, so that what the controllers create is
// defaulted and validated as in a cluster.
var knativeComponents = []string{"webhook", "controller", "autoscaler"}

// knativeStartTimeout bounds the wait for the components to take their
// leases and the webhook to answer.
const knativeStartTimeout = 2 * time.Minute

// Knative is Knative Serving's real webhook, controller and autoscaler
// running against a Cluster, with the stand-ins of knative_standins.go
// for what no node or networking layer does here. Stop it with Stop.
type Knative struct {
	// Dir holds the components' logs (webhook.log, controller.log,
	// autoscaler.log) and their kubeconfig; it is removed with the
	// cluster's directory.
	Dir string
	// WebhookURL is where the API server calls Knative's webhook
	// (https://127.0.0.1:port).
	WebhookURL string

	c       *Cluster
	procs   []*process
	nets    []*netns
	stop    context.CancelFunc
	standIn sync.WaitGroup
	state   standIns
}

// KnativeBinDir is $MODELGATE_KNATIVE_BIN, else the module's
// .cache/knative-bin (where scripts/knative-bin puts the binaries).
func KnativeBinDir() string {
	if d := os.Getenv("MODELGATE_KNATIVE_BIN"); d != "" {
		return d
	}
	return filepath.Join(ModuleRoot(), ".cache", "knative-bin")
}

// StartKnative installs Knative Serving (its namespace, CRDs and config
// maps, fetched from KnativeServingModule) into the cluster, starts the
// stand-ins, and runs the webhook, the controller and the autoscaler from
// bin (KnativeBinDir() when empty) as cluster-admin, each in a network
// namespace of its own (the controller and the autoscaler both bind :8080,
// unconditionally, and the webhook every interface) that reaches only the
// API server: nothing they do leaves the loopback interface. It returns
// once the webhook defaults Knative Services and the controller and the
// autoscaler hold their leases (3-5 s here). The API server must report a
// parsable version (scripts/kube-bin stamps it). ErrNotInstalled (wrapped)
// when a binary is missing, the version is unstamped or network
// namespaces are not allowed. It may be called once per cluster; Stop the
// Knative before the Cluster.
func (c *Cluster) StartKnative(bin string) (*Knative, error) {
	if bin == "" {
		bin = KnativeBinDir()
	}
	for _, b := range knativeComponents {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%w: no Knative %s in %s: run scripts/knative-bin (or set MODELGATE_KNATIVE_BIN)", ErrNotInstalled, b, bin)
		}
	}
	if err := c.checkVersion(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &Knative{c: c, Dir: filepath.Join(c.plane.dir, "knative"), stop: cancel}
	if err := k.start(ctx, bin); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	return k, nil
}

// checkVersion fails with ErrNotInstalled when the API server's version is
// not of the form vX.Y.Z: Knative's components refuse to start then (a
// kube-apiserver built before scripts/kube-bin stamped the version).
func (c *Cluster) checkVersion() error {
	v, err := c.Kube.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("API server version: %w", err)
	}
	var major, minor, patch int
	if n, _ := fmt.Sscanf(v.GitVersion, "v%d.%d.%d", &major, &minor, &patch); n != 3 || strings.ContainsAny(v.GitVersion, "$") {
		return fmt.Errorf("%w: the API server reports version %q, which Knative refuses: rebuild it with scripts/kube-bin", ErrNotInstalled, v.GitVersion)
	}
	return nil
}

func (k *Knative) start(ctx context.Context, bin string) error {
	if err := os.MkdirAll(k.Dir, 0o700); err != nil {
		return err
	}
	if err := k.install(ctx); err != nil {
		return fmt.Errorf("install Knative Serving: %w", err)
	}
	k.runStandIns(ctx)
	if err := k.startWebhook(ctx, bin); err != nil {
		return err
	}
	for _, name := range []string{"controller", "autoscaler"} {
		if err := k.startController(bin, name); err != nil {
			return err
		}
	}
	return k.waitLeases(ctx)
}

// install creates the namespace, the CRDs, the config maps and the
// objects the stand-ins own from the start.
func (k *Knative) install(ctx context.Context) error {
	dirs, err := knativeModuleDirs()
	if err != nil {
		return err
	}
	if err := k.c.CreateNamespaces(KnativeNamespace); err != nil {
		return err
	}
	objs, err := readAll(
		filepath.Join(dirs["serving"], "config", "core", "300-resources", "*.yaml"),
		filepath.Join(dirs["networking"], "config", "*.yaml"),
		filepath.Join(dirs["caching"], "config", "*.yaml"))
	if err != nil {
		return err
	}
	var crds, configMaps []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" { // config-network lives with the networking CRDs
			configMaps = append(configMaps, o)
		} else {
			crds = append(crds, o)
		}
	}
	if err := k.c.applyCRDs(ctx, crds); err != nil {
		return err
	}
	cms, err := readAll(filepath.Join(dirs["serving"], "config", "core", "configmaps", "*.yaml"))
	if err != nil {
		return err
	}
	if err := k.createConfigMaps(ctx, append(configMaps, cms...)); err != nil {
		return err
	}
	return k.createActivatorEndpoints(ctx)
}

// knativeModuleDirs fetches knative.dev/serving and the knative.dev
// networking and caching modules at the versions serving's go.mod
// requires, and returns their directories by last path element.
func knativeModuleDirs() (map[string]string, error) {
	serving, err := moduleDir(KnativeServingModule)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{"serving": serving}
	reqs, err := goModRequires(filepath.Join(serving, "go.mod"))
	if err != nil {
		return nil, err
	}
	for _, m := range []string{"knative.dev/networking", "knative.dev/caching"} {
		v, ok := reqs[m]
		if !ok {
			return nil, fmt.Errorf("%s's go.mod does not require %s", KnativeServingModule, m)
		}
		if dirs[filepath.Base(m)], err = moduleDir(m + "@" + v); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

// goModRequires returns the module versions a go.mod file requires.
func goModRequires(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reqs := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && strings.Contains(fields[0], ".") && strings.HasPrefix(fields[1], "v") {
			reqs[fields[0]] = fields[1]
		}
	}
	return reqs, sc.Err()
}

// readAll reads the objects of every file matching the patterns.
func readAll(patterns ...string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("no files match %s: %v", p, err)
		}
		for _, f := range files {
			objs, err := readYAML(f)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

// applyCRDs creates the CRDs, replacing any installed before (a test CRD
// of the same resource, such as KServe's own test copy of the Knative
// Service), and waits as installCRDs does until discovery serves them.
func (c *Cluster) applyCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	ri := c.Dyn.Resource(crdGVR)
	for _, crd := range crds {
		_, err := ri.Create(ctx, crd, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var old *unstructured.Unstructured
			if old, err = ri.Get(ctx, crd.GetName(), metav1.GetOptions{}); err == nil {
				crd.SetResourceVersion(old.GetResourceVersion())
				_, err = ri.Update(ctx, crd, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return fmt.Errorf("apply CRD %s: %w", crd.GetName(), err)
		}
	}
	deadline := time.Now().Add(crdTimeout)
	for _, crd := range crds {
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		for _, gv := range servedVersions(crd) {
			for !c.serves(gv, plural) {
				if time.Now().After(deadline) {
					return fmt.Errorf("CRD %s: %s not served by %s within %s", crd.GetName(), plural, gv, crdTimeout)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return nil
}

// knativeConfigEdits are the only changes to Knative's shipped config
// maps, each for what this cluster lacks:
//   - config-deployment: the queue-proxy image is a placeholder (the
//     module names it ko://knative.dev/serving/cmd/queue, which only ko
//     resolves; no image is pulled here, pods are stand-ins), and tag-to-
//     digest resolution is skipped for the usual public registries: the
//     controller has no network, and a failed resolution marks the
//     revision ContainerMissing.
//   - config-domain: example.com, as KServe's quick install sets it (with
//     none, Knative makes every route cluster-local); so Services are
//     public, at http://{name}.{namespace}.example.com.
var knativeConfigEdits = map[string]map[string]string{
	"config-domain": {"example.com": ""},
	"config-deployment": {
		"queue-sidecar-image":               "kservetest.invalid/knative-serving/queue:v0.48.1",
		"registries-skipping-tag-resolving": "kind.local,ko.local,dev.local,index.docker.io,docker.io,gcr.io,ghcr.io,quay.io,registry.k8s.io,kserve.invalid,kservetest.invalid",
	},
}

func (k *Knative) createConfigMaps(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		var cm corev1.ConfigMap
		if err := fromUnstructured(o, &cm); err != nil {
			return fmt.Errorf("config map %s: %w", o.GetName(), err)
		}
		for key, v := range knativeConfigEdits[cm.Name] {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[key] = v
		}
		if _, err := k.c.Kube.CoreV1().ConfigMaps(KnativeNamespace).Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create config map %s: %w", cm.Name, err)
		}
	}
	return nil
}

// waitLeases waits until the controller and the autoscaler each hold
// leases: Knative's reconcilers start work only once elected.
func (k *Knative) waitLeases(ctx context.Context) error {
	deadline := time.Now().Add(knativeStartTimeout)
	for {
		held, err := k.heldLeases(ctx)
		if err == nil && held["controller"] && held["autoscaler"] {
			return nil
		}
		if err := k.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Knative's controller and autoscaler hold no leases within %s (%v); controller log:\n%s\nautoscaler log:\n%s",
				knativeStartTimeout, err, k.LogTail("controller"), k.LogTail("autoscaler"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// heldLeases reports which components hold a lease in Knative's
// namespace, by the lease's name (controller.knative.dev.serving...,
// autoscaler-bucket-...).
func (k *Knative) heldLeases(ctx context.Context) (map[string]bool, error) {
	leases, err := k.c.Kube.CoordinationV1().Leases(KnativeNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, l := range leases.Items {
		if h := l.Spec.HolderIdentity; h != nil && *h != "" {
			held[strings.FieldsFunc(l.Name, func(r rune) bool { return r == '.' || r == '-' })[0]] = true
		}
	}
	return held, nil
}

// exited returns an error naming a component that has exited.
func (k *Knative) exited() error {
	for _, p := range k.procs {
		select {
		case <-p.done:
			return fmt.Errorf("Knative's %s exited; its log ends:\n%s", p.name, p.logTail())
		default:
		}
	}
	return nil
}

// LogTail returns the end of a component's log ("webhook", "controller"
// or "autoscaler"), for failure messages.
func (k *Knative) LogTail(component string) string {
	for _, p := range k.procs {
		if p.name == component {
			return p.logTail()
		}
	}
	return ""
}

// Stop removes the webhook configurations (so the API server stops
// calling the webhook), kills the components and stops the stand-ins. The
// components are killed, not asked to stop: on SIGTERM the webhook drains
// connections for longer than a test should wait, and none keeps state.
// The Knative objects stay in the cluster.
func (k *Knative) Stop() error {
	var errs []error
	errs = append(errs, k.unregisterWebhooks())
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.procs[i].kill()
	}
	for _, ns := range k.nets {
		errs = append(errs, ns.close())
	}
	k.stop()
	k.standIn.Wait()
	return errors.Join(errs...)
}

// kill kills a component and waits until it has exited.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = signalGroup(p.cmd, syscall.SIGKILL)
	<-p.done
}
