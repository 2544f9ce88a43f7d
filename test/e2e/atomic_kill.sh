#!/usr/bin/env bash
# atomic_kill.sh OLD NEW TARGET -- CMD...
# Kills CMD (which writes TARGET) with SIGKILL after each of a range of delays, each
# time starting from TARGET = OLD, and checks with atomic_check.sh that TARGET is then
# OLD or NEW and no temporary is left. A directory TARGET (an export) may leave its
# staging directory behind when killed: the next run must remove it, so for a
# directory CMD is run again to completion and TARGET must then be NEW, with no stray.
set -u
old=$1 new=$2 target=$3
shift 4 # OLD NEW TARGET --
here=$(cd "$(dirname "$0")" && pwd)
restore() { rm -rf "$target"; cp -r "$old" "$target"; }
for d in 0 0.02 0.05 0.1 0.15 0.2 0.3 0.4 0.6 0.8 1.2 2; do
  restore
  "$@" >/dev/null 2>&1 &
  pid=$!
  sleep "$d"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -d "$old" ]; then
    "$here/atomic_check.sh" "$old" "$new" "$target" >/dev/null 2>&1 ||
      { diff -rq "$old" "$target" >/dev/null 2>&1 || diff -rq "$new" "$target" >/dev/null 2>&1; } ||
      { echo "after a kill at ${d}s: $target is neither old nor new"; exit 1; }
    "$@" >/dev/null 2>&1 || { echo "the rerun failed"; exit 1; }
    "$here/atomic_check.sh" "$old" "$new" "$target" || { echo "(after the rerun following a kill at ${d}s)"; exit 1; }
  else
    "$here/atomic_check.sh" "$old" "$new" "$target" || { echo "(after a kill at ${d}s)"; exit 1; }
  fi
done
echo "atomic under SIGKILL"
