#!/usr/bin/env bash
# Browser test of the site: builds the sample catalog (rules/), serves it on loopback with
# python3's http.server, and runs site.test.mjs in Debian's chromium (playwright-core).
# Skips (exit 0, with the reason) when chromium, Node.js or playwright-core cannot be
# installed; fails on any page error, console error or broken request.
#
# Env: SITE_DIR=<built site> tests that site instead of building the sample one, with
# QUERY/QUERY2/QUERIES; RULEDEX_BROWSER_CORPUS=1 builds the whole shared corpus
# ($RULEDEX_CORPUS, else ../shared/corpus) and prints the search figures of several
# queries (time to first result, bytes transferred; not run by CI: the build takes
# minutes); BROWSER_ARTEFACTS=<dir> (default <target>/browser-artefacts, screenshots and
# figures.json; <target>/browser-corpus-artefacts in corpus mode).
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
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || true
fi
[ -d "$here/node_modules/playwright-core" ] || skip "cannot install playwright-core from the npm registry"
[ -d "$here/node_modules/axe-core" ] ||
  echo "note: axe-core could not be installed; the accessibility check is skipped" >&2

site="${SITE_DIR:-}"
if [ -z "$site" ] && [ "${RULEDEX_BROWSER_CORPUS:-}" = 1 ]; then
  # The corpus figures: the whole shared corpus, and queries of several kinds.
  corpus="${RULEDEX_CORPUS:-$repo/../shared/corpus}"
  [ -d "$corpus" ] || { echo "RULEDEX_BROWSER_CORPUS=1 but no corpus at $corpus" >&2; exit 1; }
  site="$target/browser-corpus-site"
  vendors=()
  for v in chronicle elastic panther sentinel sigma splunk; do
    [ -d "$corpus/$v" ] && vendors+=("$corpus/$v")
  done
  echo "== building the whole corpus into $site"
  (cd "$repo" && /usr/bin/time -f "corpus build: %e s wall, %U s user, %M KB max RSS" \
    cargo run --release -q -- build -q -o "$site" "${vendors[@]}")
  export QUERY="${QUERY:-powershell}" QUERY2="${QUERY2:-okta}"
  export QUERIES="${QUERIES:-mimikatz,lsass memory,kerberoasting,aws cloudtrail,T1059.001,registry run key,base64}"
  artefacts="${BROWSER_ARTEFACTS:-$target/browser-corpus-artefacts}"
fi
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
