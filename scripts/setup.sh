#!/usr/bin/env bash
# Installs what jhsim needs beyond the Swift toolchain: libcap's headers (libcap-dev).
# Safe to run again: it only acts when something is missing.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
    echo "setup: the Swift toolchain (swift) is not on PATH; install Swift 6.1 or later first." >&2
    exit 1
fi
if [ -f /usr/include/sys/capability.h ] && pkg-config --exists libcap 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing libcap-dev (libcap headers) with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq libcap-dev pkg-config >/dev/null
else
    echo "setup: libcap headers are missing. Run as root: apt-get install libcap-dev pkg-config" >&2
    exit 1
fi
