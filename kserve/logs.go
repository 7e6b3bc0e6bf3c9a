package kserve

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelgate/modelgate"
)

// LogReader returns the last tail lines of a pod container's log.
type LogReader func(ctx context.Context, namespace, pod, container string, tail int64) (io.ReadCloser, error)

var _ modelgate.LogSource = (*Deployer)(nil)

// RevisionLogs is modelgate.RevisionLogs: what the predictor pods of one
// revision logged.
type RevisionLogs = modelgate.RevisionLogs

const (
	predictorContainer = "kserve-container"
	logScan            = 2000 // lines read per pod for the counts
)

var (
	errorLine   = regexp.MustCompile(`(?i)\b(error|exception|fatal|panic|traceback)\b|\bE\d{4} `)
	warningLine = regexp.MustCompile(`(?i)\bwarn(ing)?\b|\bW\d{4} `)
)

// PredictorLogs reads the logs of production's predictor pods (label
// serving.kserve.io/inferenceservice=NAME), grouped by Knative revision
// (label serving.knative.dev/revision), with error and warning lines
// counted and the last lines kept, for the canary window's and the
// rollback's evidence. A pod whose log cannot be read is noted, not fatal.
func (d *Deployer) PredictorLogs(ctx context.Context, model string) ([]RevisionLogs, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	pods, err := d.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelISVC + "=" + name})
	if err != nil {
		return nil, d.apiError(err, "list predictor pods of %s/%s", ns, name)
	}
	var versions map[string]string
	if v, err := d.get(ctx, ns, name); err == nil && v != nil {
		versions = v.revisions()
	}
	byRev := map[string]*RevisionLogs{}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, pod := range pods.Items {
		rev := pod.Labels[labelRevision]
		r := byRev[rev]
		if r == nil {
			r = &RevisionLogs{Revision: rev, Version: versions[rev]}
			if r.Version == "" {
				r.Version = pod.Labels[LabelVersion]
			}
			byRev[rev] = r
		}
		r.Pods = append(r.Pods, pod.Name)
		if err := d.scanPod(ctx, pod, r); err != nil {
			r.ReadErrors = append(r.ReadErrors, pod.Name+": "+err.Error())
		}
	}
	out := make([]RevisionLogs, 0, len(byRev))
	for _, r := range byRev {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out, nil
}

// RevisionLogs implements modelgate.LogSource: PredictorLogs.
func (d *Deployer) RevisionLogs(ctx context.Context, model string) ([]modelgate.RevisionLogs, error) {
	return d.PredictorLogs(ctx, model)
}

func (d *Deployer) scanPod(ctx context.Context, pod corev1.Pod, r *RevisionLogs) error {
	read := d.Logs
	if read == nil {
		read = d.apiLogs
	}
	rc, err := read(ctx, pod.Namespace, pod.Name, predictorContainer, logScan)
	if err != nil {
		return err
	}
	defer rc.Close()
	var last []string
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		r.Lines++
		switch {
		case errorLine.MatchString(line):
			r.Errors++
		case warningLine.MatchString(line):
			r.Warnings++
		}
		last = append(last, line)
		if len(last) > d.opts.LogTail {
			last = last[1:]
		}
	}
	r.Last = append(r.Last, last...)
	return sc.Err()
}

func (d *Deployer) apiLogs(ctx context.Context, ns, pod, container string, tail int64) (io.ReadCloser, error) {
	rc, err := d.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tail}).Stream(ctx)
	if err != nil {
		return nil, d.apiError(err, "read log of pod %s/%s", ns, pod)
	}
	return rc, nil
}
