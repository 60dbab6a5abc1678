#!/usr/bin/env bash
# Installs what the end-to-end tests need (docs/e2e.md): Debian packages for code-server's native
# modules and chromium, then code-server 4.100.3 in .e2e/tools (its own package.json, outside the
# extension's dependencies: it is ~300 MB). Idempotent: a second run only checks and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
TOOLS=.e2e/tools

export DEBIAN_FRONTEND=noninteractive
apt_pkgs=(libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev pkg-config ripgrep chromium build-essential python3)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e-setup: apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bin="$TOOLS/node_modules/.bin/code-server"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null | head -1 | cut -d' ' -f1)" = "$CODE_SERVER_VERSION" ] \
   && [ -f "$TOOLS/.installed" ]; then
  echo "e2e-setup: code-server $CODE_SERVER_VERSION already installed in $TOOLS"
  exit 0
fi

# @vscode/ripgrep's post-install downloads rg from GitHub unless its cache already holds the
# archive: seed that cache with Debian's rg for every version code-server may pin.
rgpkg=$(mktemp -d)
cp "$(command -v rg)" "$rgpkg/rg"
for ver in 1.15.9 1.15.10 1.15.11 1.15.12 1.15.13 1.15.14; do
  d="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$ver"
  mkdir -p "$d"
  for tag in v13.0.0-4 v13.0.0-10 v13.0.0-13; do
    tar czf "$d/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$rgpkg" rg
  done
done
rm -rf "$rgpkg"

# npm 11 only runs dependency install scripts that package.json's allowScripts lists, and
# code-server's post-install runs nested `npm install`s (lib/vscode) with their own native
# modules. The whole tree is pinned to one reviewed version, so the tools folder allows all of
# its scripts; the extension's own package.json is not affected.
rm -rf "$TOOLS"
mkdir -p "$TOOLS"
cat > "$TOOLS/package.json" <<EOF
{
  "name": "pscl-studio-e2e-tools",
  "private": true,
  "description": "code-server for the end-to-end tests; created by scripts/e2e-setup.sh",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" }
}
EOF
# npm_config_yes: node-pty's post-install would otherwise stop at an `npx node-gyp` prompt;
# unsafe-perm: as root the post-install refuses to run otherwise.
(cd "$TOOLS" && npm_config_yes=true npm_config_dangerously_allow_all_scripts=true \
  npm install --unsafe-perm --foreground-scripts --no-audit --no-fund --loglevel=error)

# Check that the native modules really built (an install can "succeed" with a skipped script).
vs="$TOOLS/node_modules/code-server/lib/vscode"
# (@parcel/watcher ships prebuilt binaries as optional platform packages instead.)
for m in node-pty kerberos @vscode/spdlog native-watchdog; do
  if ! find "$vs/node_modules/$m" -name '*.node' -path '*Release*' 2>/dev/null | grep -q .; then
    echo "e2e-setup: native module $m did not build (no build/Release/*.node under $vs/node_modules/$m)" >&2
    exit 1
  fi
done
"$bin" --version
touch "$TOOLS/.installed"
echo "e2e-setup: done"
