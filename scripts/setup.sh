#!/usr/bin/env bash
# Installs what RpcNet needs on Debian 12, without prompts and idempotently:
# system libraries (apt), test certificates (certs/), and Python interop tools (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."

# iptables: fault injection (loss, partitions) inside the multi-host tests' network namespaces.
packages=(libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev libev-dev gnutls-bin pkg-config iptables)
# RPCNET_EXTRA_PACKAGES: more Debian packages a make target needs (bench-compare: Go and gRPC-Go).
read -r -a extra_packages <<<"${RPCNET_EXTRA_PACKAGES:-}"
packages+=("${extra_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

certs/generate.sh

if [[ ${RPCNET_SKIP_VENV:-0} != 1 ]]; then
  if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import aioquic' 2>/dev/null; then
    echo "setup: creating .venv with aioquic"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check 'aioquic>=1.2,<2'
  fi
fi
