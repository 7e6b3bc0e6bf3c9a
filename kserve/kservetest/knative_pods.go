package kservetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// runRevisionPods plays the Deployment and ReplicaSet controllers and the
// kubelet for the revisions' Deployments (labelled
// serving.knative.dev/revision, and only those: KServe's RawDeployment
// Deployments are another stand-in's): it keeps spec.replicas pods of the
// template (owned by the Deployment directly, without a ReplicaSet),
// reports them running and ready with an address of 10.244.0.0/16 that
// nothing serves, and reports the Deployment's replicas available. The
// pods run nothing: Knative reads their readiness (the autoscaler counts
// ready pods, the endpoints stand-in lists them), not their traffic. Crash
// makes chosen images' pods crash instead.
func (k *Knative) runRevisionPods(ctx context.Context) error {
	deps, err := k.c.Kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: revisionLabel})
	if err != nil {
		return fmt.Errorf("list revision deployments: %w", err)
	}
	var errs []error
	for i := range deps.Items {
		errs = append(errs, k.runDeployment(ctx, &deps.Items[i]))
	}
	return errors.Join(errs...)
}

func (k *Knative) runDeployment(ctx context.Context, d *appsv1.Deployment) error {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	pods, err := k.selectPods(ctx, d.Namespace, d.Spec.Selector.MatchLabels)
	if err != nil {
		return err
	}
	for int32(len(pods)) > want { // scale down: the newest go first
		last := pods[len(pods)-1]
		if err := k.c.Kube.CoreV1().Pods(d.Namespace).Delete(ctx, last.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s/%s: %w", d.Namespace, last.Name, err)
		}
		pods = pods[:len(pods)-1]
	}
	for int32(len(pods)) < want {
		p, err := k.createPod(ctx, d)
		if err != nil {
			return err
		}
		pods = append(pods, *p)
	}
	crash := k.crashing(&d.Spec.Template.Spec)
	ready := int32(0)
	for i := range pods {
		p := &pods[i]
		switch {
		case crash && !podCrashing(p):
			if err := k.crashPod(ctx, p); err != nil {
				return err
			}
		case !crash && !podReady(p):
			if err := k.runPod(ctx, p); err != nil {
				return err
			}
		}
		if !crash {
			ready++
		}
	}
	return k.markDeployment(ctx, d, int32(len(pods)), ready)
}

// createPod creates a pod of d's template. It names no node: the API
// server would then proxy pods/log to that node's kubelet, which does not
// exist; unscheduled, a pod's log reads as empty.
func (k *Knative) createPod(ctx context.Context, d *appsv1.Deployment) (*corev1.Pod, error) {
	tmpl := d.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    d.Name + "-",
			Namespace:       d.Namespace,
			Labels:          tmpl.Labels,
			Annotations:     tmpl.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	p, err := k.c.Kube.CoreV1().Pods(d.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create a pod of %s/%s: %w", d.Namespace, d.Name, err)
	}
	return p, nil
}

// runPod reports the pod running, its containers started and ready.
func (k *Knative) runPod(ctx context.Context, p *corev1.Pod) error {
	now := metav1.NewTime(time.Now())
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP = "192.0.2.1"
	p.Status.PodIP = k.nextPodIP()
	p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
	p.Status.StartTime = &now
	p.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	got, err := k.c.Kube.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("run pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	*p = *got
	return nil
}

// nextPodIP hands out the next address of 10.244.0.0/16.
func (k *Knative) nextPodIP() string {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	k.state.podIPs++
	n := k.state.podIPs
	return fmt.Sprintf("10.244.%d.%d", n/250, n%250+1)
}

// markDeployment reports the ready replicas available, and the rollout
// done once all are.
func (k *Knative) markDeployment(ctx context.Context, d *appsv1.Deployment, replicas, ready int32) error {
	s := d.Status
	if s.ObservedGeneration == d.Generation && s.Replicas == replicas && s.UpdatedReplicas == replicas && s.ReadyReplicas == ready && s.AvailableReplicas == ready {
		return nil
	}
	now := metav1.NewTime(time.Now())
	available := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now}
	progressing := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now}
	if ready < replicas {
		available.Status, available.Reason = corev1.ConditionFalse, "MinimumReplicasUnavailable"
		progressing.Reason = "ReplicaSetUpdated"
	}
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           replicas, UpdatedReplicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready,
		UnavailableReplicas: replicas - ready,
		Conditions:          []appsv1.DeploymentCondition{available, progressing},
	}
	if _, err := k.c.Kube.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}

// Crash makes the pods of every revision whose containers run image crash
// from now on, as a model server that cannot load its model does: the
// container is restarting (waiting in CrashLoopBackOff, last terminated
// with exit code 1 and CrashMessage) and never ready, and the Deployment
// has no available replica. Knative then marks the revision's
// ContainerHealthy False (ExitCode1) and the Service not Ready, while
// latestRevision traffic stays on the latest ready revision.
func (k *Knative) Crash(image string) {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	if k.state.crash == nil {
		k.state.crash = map[string]bool{}
	}
	k.state.crash[image] = true
}

// CrashMessage is the termination message of a container Crash crashes.
const CrashMessage = "kservetest: the model server exited"

// crashing reports whether a container of spec runs an image Crash named.
func (k *Knative) crashing(spec *corev1.PodSpec) bool {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	for _, c := range spec.Containers {
		if k.state.crash[c.Image] {
			return true
		}
	}
	return false
}

// podCrashing reports whether crashPod has marked the pod.
func podCrashing(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

// crashPod reports the pod running with the crashing image's container
// restarting, not ready.
func (k *Knative) crashPod(ctx context.Context, p *corev1.Pod) error {
	now := metav1.NewTime(time.Now())
	if p.Status.PodIP == "" {
		p.Status.PodIP = k.nextPodIP()
		p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP = "192.0.2.1"
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}
		if k.crashing(&corev1.PodSpec{Containers: []corev1.Container{c}}) {
			cs.Started, cs.RestartCount = ptr(false), 1
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off restarting failed container"}}
			cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: CrashMessage, StartedAt: now, FinishedAt: now}}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, cs)
	}
	got, err := k.c.Kube.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("crash pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	*p = *got
	return nil
}
