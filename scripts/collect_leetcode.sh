#!/usr/bin/env bash
# Fetch the rl-rewardhacking LeetCode test file named in benchmarks/data/rl-rewardhacking-leetcode.json, at its
# pinned commit, and check its sha256. Not needed by CI (the benchmark takes the path; no test reads the file).
#   bash scripts/collect_leetcode.sh [DEST_DIR]      -> prints the path of the verified file
# Without raw GitHub access, point LEETCODE_GIT_DIR at a clone (or bare mirror) of the repository that holds the
# pinned commit: the file is then read with `git show COMMIT:PATH` (same sha256 check).
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=benchmarks/data/rl-rewardhacking-leetcode.json
dest="${1:-benchmarks/data/cache}"
read -r repo commit path sha < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["repo"], m["commit"], m["path"], m["sha256"])' "$manifest")
mkdir -p "$dest"
out="$dest/$(basename "$path")"
if [ ! -f "$out" ] || ! echo "$sha  $out" | sha256sum -c --status; then
  tmp="$(mktemp "$dest/.download.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  if [ -n "${LEETCODE_GIT_DIR:-}" ]; then
    git -C "$LEETCODE_GIT_DIR" show "$commit:$path" > "$tmp"
  else
    curl -fsSL --retry 3 "https://raw.githubusercontent.com/$repo/$commit/$path" -o "$tmp"
  fi
  echo "$sha  $tmp" | sha256sum -c --status || { echo "sha256 mismatch for $repo@$commit:$path" >&2; exit 1; }
  mv "$tmp" "$out"
fi
echo "$out"
