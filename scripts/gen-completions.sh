#!/usr/bin/env bash
# Regenerates the committed shell completions (completions/) and the man page (man/rtrsh.1) from
# the clap definitions of the `rtrsh` binary. Run it after changing the command line, and commit
# the result: the test `complete_files` (so CI) fails while they are stale.
#
# Usage: scripts/gen-completions.sh          regenerate in place
#        scripts/gen-completions.sh --check  only compare; exit 1 when something is stale
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK=0
case "${1:-}" in
    --check) CHECK=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cargo build --quiet --bin rtrsh
BIN="${CARGO_TARGET_DIR:-target}/debug/rtrsh"

OUT=.
if [ "$CHECK" = 1 ]; then
    OUT="$(mktemp -d)"
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT/completions" "$OUT/man"

"$BIN" completions bash >"$OUT/completions/rtrsh.bash"
"$BIN" completions zsh >"$OUT/completions/_rtrsh"
"$BIN" completions fish >"$OUT/completions/rtrsh.fish"
"$BIN" completions powershell >"$OUT/completions/_rtrsh.ps1"
"$BIN" completions elvish >"$OUT/completions/rtrsh.elv"
"$BIN" man >"$OUT/man/rtrsh.1"

if [ "$CHECK" = 1 ]; then
    STALE=0
    for f in completions/rtrsh.bash completions/_rtrsh completions/rtrsh.fish \
             completions/_rtrsh.ps1 completions/rtrsh.elv man/rtrsh.1; do
        if ! diff -u "$f" "$OUT/$f" >/dev/null 2>&1; then
            echo "stale: $f" >&2
            STALE=1
        fi
    done
    if [ "$STALE" = 1 ]; then
        echo "run scripts/gen-completions.sh and commit the result" >&2
        exit 1
    fi
    echo "completions and man page are up to date"
fi
