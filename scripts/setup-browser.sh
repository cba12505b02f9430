#!/usr/bin/env bash
# Installs a headless browser for the `jhsim draw html` tests (Debian's chromium).
# Never fails: without a browser those tests are skipped and say why. CI runs this
# before `make test` (.ci/run); run it by hand as root to get the same coverage locally.
set -uo pipefail
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        echo "setup-browser: $b is installed" >&2
        exit 0
    fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-browser: no chromium, and not root with apt-get: the browser tests will be skipped" >&2
    exit 0
fi
echo "setup-browser: installing chromium with apt-get (for the draw html tests)" >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; then
    echo "setup-browser: chromium installed" >&2
else
    echo "setup-browser: chromium could not be installed: the browser tests will be skipped" >&2
fi
exit 0
