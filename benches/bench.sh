#!/usr/bin/env bash
# Times ruledex against the tools users would pick instead, side by side in one run.
# Usage: benches/bench.sh [CORPUS]    (CORPUS defaults to $RULEDEX_CORPUS or ../shared/corpus)
# Peers come from ../shared/tools/peers.sh (PEERS=/tmp/peers by default); a peer that is not
# installed is skipped with a note. Panther's Python rules need a panther-analysis checkout
# in $PANTHER_ANALYSIS (default /work/panther-analysis).
# Prints wall time (s) and peak RSS (MB) per command; exit codes are shown, not judged.
set -u
cd "$(dirname "$0")/.."
CORPUS=${1:-${RULEDEX_CORPUS:-../shared/corpus}}
PEERS=${PEERS:-/tmp/peers}
PANTHER_ANALYSIS=${PANTHER_ANALYSIS:-/work/panther-analysis}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q || exit 2
R="$TARGET/release/ruledex"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

row() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M %x" -o "$OUT/t" "$@" >"$OUT/stdout" 2>"$OUT/stderr"
  read -r wall rss code < <(tail -n 1 "$OUT/t")
  printf "%-58s %8s s %7s MB  exit %s\n" "$name" "$wall" "$((rss / 1024))" "$code"
}
skip() { printf "%-58s %s\n" "$1" "skipped: $2"; }

echo "machine: $(nproc) cores; $(date -u +%F)"
echo "--- Sigma ($CORPUS/sigma)"
row "ruledex check --format json sigma" "$R" check "$CORPUS/sigma" --format json
if [ -x "$PEERS/bin/sigma" ]; then
  row "sigma check (sigma-cli)" "$PEERS/bin/sigma" check "$CORPUS"/sigma/rules*
else skip "sigma check (sigma-cli)" "not installed"; fi
if [ -x "$PEERS-rs/bin/rsigma" ]; then
  row "rsigma rule validate" "$PEERS-rs/bin/rsigma" rule validate "$CORPUS/sigma/rules"
else skip "rsigma rule validate" "not installed"; fi

echo "--- Panther"
row "ruledex check --format json panther (YAML corpus)" "$R" check "$CORPUS/panther" --format json
if [ -d "$PANTHER_ANALYSIS" ]; then
  row "ruledex check --format json panther-analysis (Python)" "$R" check "$PANTHER_ANALYSIS" --format json
  if [ -x "$PEERS-pat/bin/pat" ]; then
    row "panther_analysis_tool test" bash -c "cd '$PANTHER_ANALYSIS' && '$PEERS-pat/bin/pat' test --path ."
  else skip "panther_analysis_tool test" "not installed"; fi
else skip "panther-analysis checkout" "no $PANTHER_ANALYSIS"; fi

echo "--- Splunk ESCU"
row "ruledex check --format json splunk" "$R" check "$CORPUS/splunk" --format json
if [ -x "$PEERS-cc4/bin/contentctl" ] && [ -n "${CONTENTCTL_TREE:-}" ]; then
  row "contentctl validate" bash -c "cd '$CONTENTCTL_TREE' && '$PEERS-cc4/bin/contentctl' validate"
else skip "contentctl validate" "set CONTENTCTL_TREE to a prepared ESCU tree"; fi

echo "--- Sentinel, Elastic, Chronicle"
row "ruledex check --format json sentinel" "$R" check "$CORPUS/sentinel" --format json
row "ruledex check --format json elastic" "$R" check "$CORPUS/elastic" --format json
row "ruledex check --format json chronicle" "$R" check "$CORPUS/chronicle" --format json

echo "--- Whole corpus"
ALL=("$CORPUS/sigma" "$CORPUS/panther" "$CORPUS/splunk" "$CORPUS/sentinel" "$CORPUS/elastic" "$CORPUS/chronicle")
row "ruledex check (all six vendors)" "$R" check "${ALL[@]}" --format json
row "ruledex build (all six vendors, HTML + Markdown)" "$R" build -q -o "$OUT/site" "${ALL[@]}"
pages=$(find "$OUT/site" -name '*.html' | wc -l)
mdpages=$(find "$OUT/site" -name '*.md' | wc -l)
echo "    pages written: $pages HTML, $mdpages Markdown"
if command -v hugo >/dev/null; then
  skip "hugo" "compare by hand: hugo build of a 10k-page Markdown site"
fi
