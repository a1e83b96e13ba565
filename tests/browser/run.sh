#!/usr/bin/env bash
# Browser test of the site: builds the sample catalog (rules/), serves it on loopback with
# python3's http.server, and runs site.test.mjs in Debian's chromium (playwright-core).
# Skips (exit 0, with the reason) when chromium, Node.js or playwright-core cannot be
# installed; fails on any page error, console error or broken request.
#
# Env: SITE_DIR=<built site> tests that site instead of building the sample one (the corpus
# figures), with QUERY/QUERY2; BROWSER_ARTEFACTS=<dir> (default <target>/browser-artefacts).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
artefacts="${BROWSER_ARTEFACTS:-$target/browser-artefacts}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

skip() {
  echo "browser test skipped: $*" >&2
  exit 0
}

if [ ! -x "$chromium" ]; then
  echo "== installing Debian's chromium and chromium-driver"
  if ! { apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 ||
    sudo -n apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; then
    skip "cannot install Debian's chromium (apt-get install chromium chromium-driver failed)"
  fi
  [ -x "$chromium" ] || skip "$chromium not found after installing chromium"
fi
command -v node >/dev/null 2>&1 || skip "node not found"
command -v npm >/dev/null 2>&1 || skip "npm not found"
command -v python3 >/dev/null 2>&1 || skip "python3 not found (serves the site)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    skip "cannot install playwright-core from the npm registry"
fi

site="${SITE_DIR:-}"
if [ -z "$site" ]; then
  site="$target/browser-site"
  echo "== building the sample site into $site"
  (cd "$repo" && cargo run --release -q -- build -q -o "$site" rules)
fi
[ -f "$site/index.html" ] || { echo "no index.html in $site" >&2; exit 1; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$site" "$port" >"$target/browser-http.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html')" 2>/dev/null && break
  sleep 0.1
done

rm -rf "$artefacts"
mkdir -p "$artefacts"
echo "== browser test on http://127.0.0.1:$port/ (artefacts in $artefacts)"
BASE_URL="http://127.0.0.1:$port/" CHROMIUM="$chromium" ARTEFACTS="$artefacts" \
  node "$here/site.test.mjs"
