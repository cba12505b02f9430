#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests and demos of
# scripts/slurm/campaign.sbatch (Docs/scaling.md).
#
#   scripts/slurm/local-cluster.sh start DIR   start munged, slurmctld and slurmd; config,
#                                              state, spool, logs and pids all in DIR
#   scripts/slurm/local-cluster.sh stop DIR    stop exactly the processes `start` started
#                                              (by the pids it recorded), nothing else
#
# Then: export SLURM_CONF=DIR/slurm.conf, and sbatch/squeue/sinfo talk to it.
# Needs Debian's slurm-wlm and munge (scripts/slurm/install.sh) and root: slurmd runs
# jobs as their submitting user. Runs without cgroups (ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none), so it works in containers.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 1; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

stop() {
    local status=0 pids=() names=()
    for name in slurmd slurmctld munged; do
        local f="$dir/$name.pid"
        [ -f "$f" ] || continue
        local pid
        pid=$(cat "$f")
        rm -f "$f"
        # Only a process still running under the recorded pid and name is ours to stop.
        if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$name" ]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid"); names+=("$name")
        fi
    done
    # They shut down in parallel (about 2 s each).
    for i in "${!pids[@]}"; do
        for _ in $(seq 100); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "local-cluster: ${names[$i]} (pid ${pids[$i]}) ignored SIGTERM for 10 s; sending SIGKILL" >&2
            kill -KILL "${pids[$i]}" 2>/dev/null || status=1
        fi
    done
    return $status
}

start() {
    for tool in munged slurmctld slurmd sbatch; do
        command -v "$tool" >/dev/null || { echo "local-cluster: $tool not found (install slurm-wlm and munge: scripts/slurm/install.sh)" >&2; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "local-cluster: slurmd must run as root (it starts jobs as their user)" >&2; exit 77; }
    mkdir -p "$dir"/state "$dir"/spool "$dir"/munge
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir/munge"
    local host cpus base
    host=$(hostname -s)
    # At least 4 CPUs, so a 4-task test array runs at once even on 2 cores (slurmd is told
    # to trust the configuration rather than the hardware).
    cpus=${JHSIM_SLURM_CPUS:-$(( $(nproc) > 4 ? $(nproc) : 4 ))}
    # Ports away from the defaults (6817/6818), so a real Slurm on the host is untouched.
    base=${JHSIM_SLURM_PORT:-$((20000 + $$ % 20000))}
    head -c 1024 /dev/urandom > "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    cat > "$dir/slurm.conf" <<CONF
ClusterName=jhsim-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.daemon.pid
SlurmdPidFile=$dir/slurmd.daemon.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmdParameters=config_overrides
SchedulerParameters=defer_batch=0
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    # --force: munged refuses a key or log folder whose owner it does not expect.
    munged -F --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
        >"$dir/munged.out" 2>&1 &
    echo $! > "$dir/munged.pid"
    for _ in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
    [ -S "$dir/munge/munge.socket" ] || { echo "local-cluster: munged did not start: $(cat "$dir/munged.out" "$dir/munge/munged.log" 2>/dev/null)" >&2; stop; exit 1; }
    SLURM_CONF="$dir/slurm.conf" slurmctld -D -i -f "$dir/slurm.conf" >"$dir/slurmctld.out" 2>&1 &
    echo $! > "$dir/slurmctld.pid"
    SLURM_CONF="$dir/slurm.conf" slurmd -D -f "$dir/slurm.conf" -N "$host" >"$dir/slurmd.out" 2>&1 &
    echo $! > "$dir/slurmd.pid"
    # Ready when the node is idle.
    for _ in $(seq 150); do
        state=$(SLURM_CONF="$dir/slurm.conf" sinfo -h -o %T 2>/dev/null | head -1 || true)
        [ "$state" = idle ] && { echo "local-cluster: up in $dir (export SLURM_CONF=$dir/slurm.conf)"; return 0; }
        sleep 0.2
    done
    echo "local-cluster: the node did not become idle (state: ${state:-none}); logs in $dir" >&2
    tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" "$dir/slurmctld.out" "$dir/slurmd.out" >&2 2>/dev/null || true
    stop
    exit 1
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
