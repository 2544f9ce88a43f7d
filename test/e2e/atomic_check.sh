#!/usr/bin/env bash
# atomic_check.sh OLD NEW TARGET: TARGET must be byte-identical to OLD or to NEW (a file or
# a directory), and its directory must hold no qcc temporary (*.qcc-tmp-*, *.qcc-old-*).
set -u
old=$1 new=$2 target=$3
same() { if [ -d "$1" ]; then diff -r "$1" "$2" >/dev/null 2>&1; else cmp -s "$1" "$2"; fi; }
if ! same "$old" "$target" && ! same "$new" "$target"; then
  echo "$target is neither the old nor the complete new output"; exit 1
fi
stray=$(ls -a "$(dirname "$target")" | grep -E '\.qcc-(tmp|old)-|\.tmp$' || true)
if [ -n "$stray" ]; then echo "stray temporaries: $stray"; exit 1; fi
exit 0
