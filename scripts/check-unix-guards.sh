#!/bin/sh
# Fails when a Unix-only API (std::os::unix, std::os::fd, tokio::signal::unix, rustix) is used in src/ or crates/ without
# a `cfg(unix)` in the lines just above it: the Windows build (which this machine cannot run)
# would break. A use that is guarded further up can say so with a `// unix-only:` comment.
set -eu
cd "$(dirname "$0")/.."
bad=$(find src crates -name '*.rs' | sort | while read -r f; do
    awk -v f="$f" '
        { line[NR] = $0 }
        /(os::unix|os::fd|signal::unix|rustix::)/ && $0 !~ /^[[:space:]]*\/\// {
            ok = 0
            for (i = NR; i > 0 && i >= NR - 15; i--) {
                if (line[i] ~ /cfg\(unix\)|cfg!\(unix\)|unix-only:/) { ok = 1; break }
            }
            if (!ok) printf "%s:%d: %s\n", f, NR, $0
        }' "$f"
done)
if [ -n "$bad" ]; then
    echo "Unix-only calls without cfg(unix) (the Windows build breaks):" >&2
    echo "$bad" >&2
    exit 1
fi
echo "unix-only calls are guarded"
