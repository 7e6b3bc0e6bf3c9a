package kservetest

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// privateServiceLabel marks the revisions' private Services, the ones
// with a pod selector (the ServerlessService reconciler writes the public
// ones' endpoints itself).
const privateServiceLabel = "networking.internal.knative.dev/serviceType=Private"

// runPrivateEndpoints plays the endpoints controller (of the cluster's
// controller manager) for the revisions' private Services: their
// Endpoints list the ready pods the selector matches, with the Service's
// labels and ports, target ports resolved against the containers' named
// ports as Kubernetes does. The ServerlessService reconciler reads them
// to decide whether the revision has ready endpoints.
func (k *Knative) runPrivateEndpoints(ctx context.Context) error {
	svcs, err := k.c.Kube.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: privateServiceLabel})
	if err != nil {
		return fmt.Errorf("list private services: %w", err)
	}
	var errs []error
	for i := range svcs.Items {
		errs = append(errs, k.syncEndpoints(ctx, &svcs.Items[i]))
	}
	return errors.Join(errs...)
}

func (k *Knative) syncEndpoints(ctx context.Context, svc *corev1.Service) error {
	pods, err := k.selectPods(ctx, svc.Namespace, svc.Spec.Selector)
	if err != nil {
		return err
	}
	want := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: svc.Labels},
		Subsets:    endpointSubsets(svc, pods),
	}
	client := k.c.Kube.CoreV1().Endpoints(svc.Namespace)
	have, err := client.Get(ctx, svc.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = client.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && !apiequality.Semantic.DeepEqual(have.Subsets, want.Subsets):
		want.ResourceVersion = have.ResourceVersion
		_, err = client.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("endpoints of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// endpointSubsets is one subset of the ready pods' addresses and the
// Service's ports (none when no pod is ready, as Kubernetes writes it).
func endpointSubsets(svc *corev1.Service, pods []corev1.Pod) []corev1.EndpointSubset {
	var addrs []corev1.EndpointAddress
	for i := range pods {
		p := &pods[i]
		if podReady(p) && p.Status.PodIP != "" {
			addrs = append(addrs, corev1.EndpointAddress{IP: p.Status.PodIP, NodeName: ptr(p.Spec.NodeName),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}})
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	var ports []corev1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		if port := targetPort(sp.TargetPort, &pods[0]); port > 0 {
			ports = append(ports, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
	}
	return []corev1.EndpointSubset{{Addresses: addrs, Ports: ports}}
}

// targetPort resolves a Service's target port against a pod's containers
// (0 when a named port is not found: Kubernetes then leaves it out).
func targetPort(tp intstr.IntOrString, pod *corev1.Pod) int32 {
	if tp.Type == intstr.Int {
		return tp.IntVal
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == tp.StrVal {
				return p.ContainerPort
			}
		}
	}
	return 0
}
