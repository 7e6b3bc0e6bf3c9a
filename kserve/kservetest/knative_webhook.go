package kservetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Knative's webhook is registered with the API server as in a cluster,
// but by URL: Knative's own webhook configurations name the webhook's
// Service, which the API server reaches through a cluster IP that nothing
// routes here (and endpoints may not name loopback addresses). So the
// webhook's certificate pair is made here, for its Service's names and
// 127.0.0.1, and stored where the webhook reads it (the webhook-certs
// secret, which Knative keeps while it is valid), and
// kservetest.*.serving.knative.dev configurations point the API server at
// https://127.0.0.1:port with the rules Knative would register (its
// cmd/webhook's types: defaulting on create and update, validation on
// create, update and delete, each on the resources and their status).
// Knative's own configurations are not installed: its reconcilers of them
// only log that they are missing. The config-map validation webhook is
// not registered.
const (
	knativeWebhookSecret = "webhook-certs"
	knativeMutating      = "kservetest.webhook.serving.knative.dev"
	knativeValidating    = "kservetest.validation.webhook.serving.knative.dev"
)

// knativeWebhookResources are the resources of Knative's cmd/webhook
// types map, by group/version.
var knativeWebhookResources = map[string][]string{
	"serving.knative.dev/v1":                    {"configurations", "revisions", "routes", "services"},
	"serving.knative.dev/v1beta1":               {"domainmappings"},
	"autoscaling.internal.knative.dev/v1alpha1": {"metrics", "podautoscalers"},
	"networking.internal.knative.dev/v1alpha1":  {"certificates", "ingresses", "serverlessservices"},
}

// startWebhook stores the webhook's certificates, runs it (reached on a
// free port of the test's loopback) and, once it serves TLS, registers it.
func (k *Knative) startWebhook(ctx context.Context, bin string) error {
	caPEM, err := k.webhookCerts(ctx)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // held: the API server's way in
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	env := append(k.env("webhook"), "WEBHOOK_NAME=webhook", "WEBHOOK_PORT="+strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	proc, err := k.startProcess(bin, "webhook", env, []net.Listener{l})
	if err != nil {
		_ = l.Close()
		return err
	}
	k.WebhookURL = "https://" + addr
	if err := waitTLS(proc, addr, caPEM); err != nil {
		return err
	}
	if err := k.registerWebhooks(ctx, caPEM); err != nil {
		return err
	}
	return k.waitDefaulting(ctx)
}

// webhookCerts creates the webhook-certs secret (keys as Knative's
// certificates reconciler writes them) and returns the CA's PEM.
func (k *Knative) webhookCerts(ctx context.Context) ([]byte, error) {
	ca, err := newCertAuthority("kservetest-knative-webhook")
	if err != nil {
		return nil, err
	}
	crt, key, err := ca.issue(pkix.Name{CommonName: "webhook.knative-serving.svc"}, x509.ExtKeyUsageServerAuth, func(c *x509.Certificate) {
		c.DNSNames = []string{"webhook", "webhook.knative-serving", "webhook.knative-serving.svc", "webhook.knative-serving.svc.cluster.local"}
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	})
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: knativeWebhookSecret, Namespace: KnativeNamespace},
		Data:       map[string][]byte{"server-key.pem": key, "server-cert.pem": crt, "ca-cert.pem": ca.certPEM()},
	}
	if _, err := k.c.Kube.CoreV1().Secrets(KnativeNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create the webhook's certificate secret: %w", err)
	}
	return ca.certPEM(), nil
}

// waitTLS waits until addr completes a TLS handshake with a certificate
// caPEM signed (the webhook has read its secret).
func waitTLS(proc *process, addr string, caPEM []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	deadline := time.Now().Add(knativeStartTimeout)
	for {
		d := &net.Dialer{Timeout: time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err == nil {
			return conn.Close()
		}
		select {
		case <-proc.done:
			return fmt.Errorf("Knative's webhook exited; its log ends:\n%s", proc.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Knative's webhook not serving TLS at %s within %s (%v); its log ends:\n%s", addr, knativeStartTimeout, err, proc.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// registerWebhooks creates the mutating and validating configurations.
func (k *Knative) registerWebhooks(ctx context.Context, caPEM []byte) error {
	client := k.c.Kube.AdmissionregistrationV1()
	mutating := &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: knativeMutating},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:                    "webhook.serving.knative.dev",
			ClientConfig:            k.clientConfig("/defaulting", caPEM),
			Rules:                   knativeWebhookRules(admissionv1.Create, admissionv1.Update),
			FailurePolicy:           ptr(admissionv1.Fail),
			SideEffects:             ptr(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       knativeNamespaceSelector(),
			ReinvocationPolicy:      ptr(admissionv1.IfNeededReinvocationPolicy),
			TimeoutSeconds:          ptr(int32(10)),
		}},
	}
	if _, err := client.MutatingWebhookConfigurations().Create(ctx, mutating, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register Knative's defaulting webhook: %w", err)
	}
	validating := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: knativeValidating},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "validation.webhook.serving.knative.dev",
			ClientConfig:            k.clientConfig("/resource-validation", caPEM),
			Rules:                   knativeWebhookRules(admissionv1.Create, admissionv1.Update, admissionv1.Delete),
			FailurePolicy:           ptr(admissionv1.Fail),
			SideEffects:             ptr(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       knativeNamespaceSelector(),
			TimeoutSeconds:          ptr(int32(10)),
		}},
	}
	if _, err := client.ValidatingWebhookConfigurations().Create(ctx, validating, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register Knative's validation webhook: %w", err)
	}
	return nil
}

func (k *Knative) clientConfig(path string, caPEM []byte) admissionv1.WebhookClientConfig {
	return admissionv1.WebhookClientConfig{URL: ptr(k.WebhookURL + path), CABundle: caPEM}
}

func knativeWebhookRules(ops ...admissionv1.OperationType) []admissionv1.RuleWithOperations {
	var rules []admissionv1.RuleWithOperations
	for gv, plurals := range knativeWebhookResources {
		group, version, _ := strings.Cut(gv, "/")
		for _, p := range plurals {
			rules = append(rules, admissionv1.RuleWithOperations{
				Operations: ops,
				Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: []string{p, p + "/status"}},
			})
		}
	}
	return rules
}

// knativeNamespaceSelector is the exclusion Knative adds to its own.
func knativeNamespaceSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "webhooks.knative.dev/exclude", Operator: metav1.LabelSelectorOpDoesNotExist,
	}}}
}

// waitDefaulting waits until the API server applies the registration: a
// Knative Service created as a dry run in the default namespace comes
// back with the traffic Knative's defaulting sets.
func (k *Knative) waitDefaulting(ctx context.Context) error {
	probe := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(`{"apiVersion":"serving.knative.dev/v1","kind":"Service",
		"metadata":{"name":"kservetest-webhook-probe"},
		"spec":{"template":{"spec":{"containers":[{"image":"kservetest.invalid/probe:v1"}]}}}}`), &probe.Object); err != nil {
		return err
	}
	deadline := time.Now().Add(knativeStartTimeout)
	for {
		got, err := k.c.Dyn.Resource(KnativeService).Namespace("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			if traffic, _, _ := unstructured.NestedSlice(got.Object, "spec", "traffic"); len(traffic) > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call Knative's defaulting webhook within %s (%v); its log ends:\n%s", knativeStartTimeout, err, k.LogTail("webhook"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unregisterWebhooks deletes the configurations, so that the API server
// stops calling a webhook that is about to stop.
func (k *Knative) unregisterWebhooks() error {
	if k.WebhookURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := k.c.Kube.AdmissionregistrationV1()
	var errs []error
	if err := client.MutatingWebhookConfigurations().Delete(ctx, knativeMutating, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := client.ValidatingWebhookConfigurations().Delete(ctx, knativeValidating, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }
