package kserve

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"sort"
	"strconv"

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
// rollback's evidence. In raw mode the candidate's pods (NAME-canary) are
// read too, grouped by predictor Deployment, the revisions raw mode
// reports. A pod whose log cannot be read is noted, not fatal.
func (d *Deployer) PredictorLogs(ctx context.Context, model string) ([]RevisionLogs, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	selector := labelISVC + "=" + name
	if d.opts.Raw() {
		selector = labelISVC + " in (" + name + "," + CanaryName(name) + ")"
	}
	pods, err := d.dyn.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, d.apiError(err, "list predictor pods of %s/%s", ns, name)
	}
	var versions map[string]string
	if v, err := d.get(ctx, ns, name); err == nil && v != nil {
		versions = v.revisions()
	}
	byRev := map[string]*RevisionLogs{}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].GetName() < pods.Items[j].GetName() })
	for _, pod := range pods.Items {
		labels := pod.GetLabels()
		rev := labels[labelRevision]
		if d.opts.Raw() {
			rev = PredictorName(labels[labelISVC])
		}
		r := byRev[rev]
		if r == nil {
			r = &RevisionLogs{Revision: rev, Version: versions[rev]}
			if r.Version == "" {
				r.Version = labels[LabelVersion]
			}
			byRev[rev] = r
		}
		r.Pods = append(r.Pods, pod.GetName())
		if err := d.scanPod(ctx, ns, pod.GetName(), r); err != nil {
			r.ReadErrors = append(r.ReadErrors, pod.GetName()+": "+err.Error())
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

func (d *Deployer) scanPod(ctx context.Context, ns, pod string, r *RevisionLogs) error {
	read := d.Logs
	if read == nil {
		read = d.apiLogs
	}
	rc, err := read(ctx, ns, pod, predictorContainer, logScan)
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

// apiLogs streams pods/log as kubectl logs --tail does.
func (d *Deployer) apiLogs(ctx context.Context, ns, pod, container string, tail int64) (io.ReadCloser, error) {
	rc, err := d.raw.Get().AbsPath("/api/v1/namespaces", ns, "pods", pod, "log").
		Param("container", container).Param("tailLines", strconv.FormatInt(tail, 10)).Stream(ctx)
	if err != nil {
		return nil, d.apiError(err, "read log of pod %s/%s", ns, pod)
	}
	return rc, nil
}
