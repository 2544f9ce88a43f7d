#!/usr/bin/env bash
# expect_error.sh REGEX CMD...: CMD must exit with status 2 and print exactly one
# line on stderr matching REGEX (extended regex), prefixed "qcc: error: "
# (EXPECT_PREFIX= for the compiled model binaries, whose lines start with
# their own path or the file's).
set -u
prefix=${EXPECT_PREFIX-qcc: error: }
re=$1; shift
err=$("$@" 2>&1 >/dev/null); status=$?
lines=$(printf '%s\n' "$err" | grep -c .)
if [ "$status" -ne 2 ]; then echo "expected exit 2, got $status: $err"; exit 1; fi
if [ "$lines" -ne 1 ]; then echo "expected one line on stderr, got $lines:"; printf '%s\n' "$err"; exit 1; fi
if ! printf '%s\n' "$err" | grep -Eq -- "^$prefix.*$re"; then echo "stderr does not match /$re/: $err"; exit 1; fi
