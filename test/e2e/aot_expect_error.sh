#!/usr/bin/env bash
# aot_expect_error.sh REGEX CMD...: a compiled model binary must exit with
# status 2 and print exactly one line on stderr matching REGEX (extended).
set -u
re=$1; shift
err=$("$@" 2>&1 >/dev/null); status=$?
lines=$(printf '%s\n' "$err" | grep -c .)
if [ "$status" -ne 2 ]; then echo "expected exit 2, got $status: $err"; exit 1; fi
if [ "$lines" -ne 1 ]; then echo "expected one line on stderr, got $lines:"; printf '%s\n' "$err"; exit 1; fi
if ! printf '%s\n' "$err" | grep -Eq -- "$re"; then echo "stderr does not match /$re/: $err"; exit 1; fi
