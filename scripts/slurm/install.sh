#!/usr/bin/env bash
# Installs what the Slurm and GNU parallel tests and demos need (Debian packages
# slurm-wlm, munge, parallel), when missing. CI calls it (.ci/run); when it cannot
# install (not root, no apt-get, no network) it says why and exits 1, and the tests that
# need the packages are skipped with that reason.
set -uo pipefail
need=()
command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v parallel >/dev/null 2>&1 || need+=(parallel)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then echo "slurm/install: not root, cannot install ${need[*]}" >&2; exit 1; fi
if ! command -v apt-get >/dev/null 2>&1; then echo "slurm/install: no apt-get, cannot install ${need[*]}" >&2; exit 1; fi
echo "slurm/install: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
    echo "slurm/install: apt-get could not install ${need[*]}:" >&2
    tail -n 5 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
