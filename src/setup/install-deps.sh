#!/usr/bin/env bash
# Installs what onecc needs to run (`runtime`) or to run its tests (`test`), and only what is missing, so it is safe
# to call before every `npm start` / `npm test`. Works unattended: CI runs it with no stdin and no terminal.
set -euo pipefail

# Debian packages. Later work adds to these lists; keep one package per word.
RUNTIME_DEBS=(redis-server rtpengine-daemon espeak-ng sox)  # espeak-ng, sox: the prompts (build-prompts.sh)
TEST_DEBS=(libnet-sip-perl baresip-core docker-compose openssl chromium iproute2 prometheus redis-sentinel)  # redis-sentinel: the failover test (test/faults); chromium: the WebRTC test (headless); iproute2: its loopback-only network namespace; prometheus: scrapes onecc in test/metrics (promtool too)
NODE_MAJOR_MIN=20

say() { echo "install-deps: $*"; }

case "${1:-}" in
  runtime) debs=("${RUNTIME_DEBS[@]}") ;;
  test) debs=("${RUNTIME_DEBS[@]}" "${TEST_DEBS[@]}") ;;
  *) echo "usage: $0 runtime|test" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repo root, wherever we are called from

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < NODE_MAJOR_MIN )); then
  say "Node.js >= $NODE_MAJOR_MIN is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm packages: reinstall when node_modules is absent or older than the lock file.
if [[ ! -d node_modules ]] || { [[ -f package-lock.json ]] && [[ package-lock.json -nt node_modules ]]; }; then
  if [[ -f package-lock.json ]]; then
    say "running npm ci"
    npm ci --no-audit --no-fund </dev/null
  else
    say "no package-lock.json: running npm install"
    npm install --no-audit --no-fund </dev/null
  fi
  # npm may leave node_modules' own mtime older than the lock it just wrote; mark it current so the next run skips.
  touch node_modules
else
  say "node_modules is up to date"
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
done

if (( ${#missing[@]} == 0 )); then
  say "Debian packages present: ${debs[*]}"
elif (( EUID != 0 )); then
  say "missing Debian packages: ${missing[*]}" >&2
  say "install them as root, then run this again:" >&2
  say "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
else
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  say "installed: ${missing[*]}"
fi

# Audio prompts from media/text (cached: only changed texts are spoken again).
bash src/setup/build-prompts.sh
