#!/usr/bin/env bash
# determinism.sh OUTDIR NAME -- QCC-ARGS...: runs `qcc QCC-ARGS -o OUTDIR/NAME-T-R` at
# 1, 2 and 5 threads (5: more threads than this machine may have cores) and a
# second time at 2, and requires byte-identical outputs (files or directories).
set -u
out=$1 name=$2
shift 3 # OUTDIR NAME --
for run in 1-a 2-a 5-a 2-b; do
  t=${run%-*}
  qcc "$@" --threads "$t" -o "$out/$name-$run" --quiet || { echo "$name: qcc failed at $t threads"; exit 1; }
done
for run in 2-a 5-a 2-b; do
  if [ -d "$out/$name-1-a" ]; then
    diff -r "$out/$name-1-a" "$out/$name-$run" >/dev/null || { echo "$name: $run differs from 1 thread"; exit 1; }
  else
    cmp -s "$out/$name-1-a" "$out/$name-$run" || { echo "$name: $run differs from 1 thread"; exit 1; }
  fi
done
echo "$name: identical at 1, 2, 5 threads and across runs"
