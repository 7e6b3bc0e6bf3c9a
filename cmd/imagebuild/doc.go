// Command imagebuild layers a built modelgate binary into a container image
// without a Docker daemon or a base image from a registry, and writes it as a
// docker-save tarball (docker load, podman load, kind load image-archive,
// crane push) and/or an OCI image layout (skopeo, crane, oras).
//
// The image is one layer on an empty base: the static binary at
// /usr/local/bin/modelgate (mode 0755, owned by root), an /etc/passwd and
// /etc/group naming the non-root user it runs as (65532, "nonroot"), its
// home, a working directory /var/lib/modelgate it owns, /tmp, and optionally
// a CA bundle at /etc/ssl/certs/ca-certificates.crt (modelgate speaks TLS to
// MLflow, GitHub, Jira and webhooks). Every timestamp is the -created time,
// so the same binary gives the same image digest.
//
// It is a separate program so that go-containerregistry stays out of
// modelgate's own binary; scripts/image builds the binary the way
// scripts/release does and runs it.
package main
