#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Node 20: apt packages, pnpm, install.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium postfix swaks haproxy python3 gcc libc6-dev)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks how it is used; it only provides smtp-sink/smtp-source here and need not run.
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections || true
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm $want_pnpm"
  npm install -g "pnpm@$want_pnpm" >/dev/null
fi

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile --reporter=append-only | tail -n 3
pnpm run build
