#!/usr/bin/env bash
# For users with Docker: run the e2e suite against a kind cluster with breakglass installed
# from the synthesized manifests. (Our CI has no Docker; it runs the same suite against a
# local kube-apiserver instead.)
#   bash e2e/kind/run.sh            # create cluster "breakglass", build, install, test
#   KEEP_CLUSTER=1 bash e2e/kind/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=${KIND_CLUSTER:-breakglass}
IMAGE=${BREAKGLASS_IMAGE:-breakglass:dev}
KUBECONFIG_FILE=$(mktemp)
CERTS=$(mktemp -d)

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER"
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
cleanup() { rm -rf "$CERTS" "$KUBECONFIG_FILE"; [ -n "${KEEP_CLUSTER:-}" ] || kind delete cluster --name "$CLUSTER"; }
trap cleanup EXIT

docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

# Webhook TLS without cert-manager: a CA and a serving certificate for the webhook Service.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=breakglass-webhook-ca \
  -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=breakglass-webhook -keyout "$CERTS/tls.key" -out "$CERTS/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:breakglass-webhook-service.breakglass-system.svc,DNS:breakglass-webhook-service.breakglass-system.svc.cluster.local\n' >"$CERTS/ext"
openssl x509 -req -in "$CERTS/tls.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -CAcreateserial \
  -days 30 -extfile "$CERTS/ext" -out "$CERTS/tls.crt" 2>/dev/null

BREAKGLASS_IMAGE="$IMAGE" BREAKGLASS_WEBHOOK_CA_FILE="$CERTS/ca.crt" npm run synth
export KUBECONFIG="$KUBECONFIG_FILE"
kubectl apply --server-side -f dist/breakglass.k8s.yaml
kubectl -n breakglass-system create secret tls breakglass-webhook-tls --cert "$CERTS/tls.crt" --key "$CERTS/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n breakglass-system rollout status deployment --timeout 180s

# Tests that start webhook servers of their own need an address the kind nodes can reach.
E2E_WEBHOOK_HOST=$(docker network inspect kind -f '{{(index .IPAM.Config 0).Gateway}}') \
E2E_KUBECONFIG="$KUBECONFIG_FILE" npm run test:e2e
