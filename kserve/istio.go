package kserve

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var vsGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1beta1", Resource: "virtualservices"}

// checkVirtualService returns why the Istio VirtualService's weights differ
// from split (revision → percent), or "" when they match or no
// VirtualService is configured. Knative's net-istio routes each revision to
// the host "<revision>.<namespace>.svc.cluster.local" (or "<revision>").
func (d *Deployer) checkVirtualService(ctx context.Context, v *view, split map[string]int64) string {
	if d.opts.VirtualService == "" {
		return ""
	}
	name := strings.ReplaceAll(d.opts.VirtualService, "{name}", v.obj.GetName())
	vs, err := d.dyn.Resource(vsGVR).Namespace(v.obj.GetNamespace()).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("cannot read VirtualService %s/%s: %v", v.obj.GetNamespace(), name, err)
	}
	got := map[string]int64{}
	https, _, _ := unstructuredSlice(vs.Object, "spec", "http")
	for _, h := range https {
		routes, _, _ := unstructuredSlice(h, "route")
		for _, r := range routes {
			dest, _ := r["destination"].(map[string]any)
			host, _ := dest["host"].(string)
			rev := strings.SplitN(host, ".", 2)[0]
			w, _ := r["weight"].(int64)
			if len(routes) == 1 && r["weight"] == nil {
				w = 100
			}
			got[rev] += w
		}
		break // the first HTTP route is the default route
	}
	want := map[string]int64{}
	for rev, pct := range split {
		if pct > 0 {
			want[rev] = pct
		}
	}
	for rev, w := range got {
		if w == 0 {
			delete(got, rev)
		}
	}
	if fmt.Sprint(sortedSplit(got)) != fmt.Sprint(sortedSplit(want)) {
		return fmt.Sprintf("VirtualService %s routes %v, KServe reports %v", name, sortedSplit(got), sortedSplit(want))
	}
	return ""
}

func sortedSplit(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d%%", k, v))
	}
	sort.Strings(out)
	return out
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]map[string]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	list, ok := cur.([]any)
	if !ok {
		return nil, false, nil
	}
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, true, nil
}
