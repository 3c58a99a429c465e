#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine: for trying the SLURM profile
# (profiles/slurm) and for tests/workflow/test_slurm.py. Debian's Slurm packages, munge
# for authentication; no cgroups, no systemd, no accounting database.
#
#   tools/slurm_cluster.sh start    install (when missing), configure, start, wait until the node is idle
#   tools/slurm_cluster.sh status   the daemons, sinfo and squeue
#   tools/slurm_cluster.sh stop     cancel the cluster's jobs, stop the daemons this script started
#   tools/slurm_cluster.sh env      print `export SLURM_CONF=...` (optional, see below)
#
# Needs root (package install, munged as the munge user, slurmd starting jobs).
# State (config, logs, PID files, spool) lives in ${SLURM_STATE:-/tmp/qm9-slurm}.
#
# Config: $STATE/slurm.conf, and /etc/slurm/slurm.conf is made a symlink to it.
# sbatch, squeue and sinfo would also follow SLURM_CONF, but the SLURM
# executor plugin's job step drops every SLURM_* variable (SLURM_CONF too)
# before it calls srun inside the job, and srun then reads only the default
# path. An /etc/slurm/slurm.conf that this script did not write is never
# replaced (start fails instead); stop removes the symlink again.
#
# GPU: the node offers one GPU GRES with /dev/null as its device file, so that
# the profile's `gpu: 1` for training (sbatch --gpus=1) is scheduled as on a GPU
# cluster, one training at a time. There is no GPU: training runs on the CPU.
# SLURM_GPUS=0 leaves the GRES out (sbatch then rejects --gpus).
#
# Exit status of start: 0 running; 3 a cluster cannot run here (not root, or the
# packages cannot be installed); 1 any other failure (message and log tails say why).
set -euo pipefail

STATE=${SLURM_STATE:-/tmp/qm9-slurm}
CONF=$STATE/slurm.conf
SYSTEM_CONF=/etc/slurm/slurm.conf
SYSTEM_GRES=/etc/slurm/gres.conf
PACKAGES=(slurmctld slurmd slurm-client munge)
START_TIMEOUT=${SLURM_START_TIMEOUT:-60}
GPUS=${SLURM_GPUS:-1}
MARKER="# written by tools/slurm_cluster.sh"
EXIT_UNAVAILABLE=3
DAEMONS=(munged slurmctld slurmd) # started in this order, stopped in reverse

say() { echo "slurm_cluster: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}
unavailable() {
    say "cannot run a cluster here: $*"
    exit "$EXIT_UNAVAILABLE"
}

node_name() { hostname -s; }

pid_of() { # the recorded PID of a daemon, if that process is alive and is still that daemon
    local name=$1 file=$STATE/$1.pid pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$name" ]] || return 1
    echo "$pid"
}

lock() { # serialize start and stop (two test sessions may share the cluster)
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    flock -w 180 9 || die "another start or stop holds $STATE/lock"
}

# ---- installation and configuration ------------------------------------------

install_packages() {
    local missing=() p log=$STATE/apt.log
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then return 0; fi
    command -v apt-get >/dev/null || unavailable "packages ${missing[*]} are missing and there is no apt-get"
    say "installing ${missing[*]} (apt-get install --no-install-recommends)"
    if ! {
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
    } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        unavailable "apt-get could not install ${missing[*]} (log: $log)"
    fi
}

write_config() {
    local node layout real_mem mem gres_types="" gres_node=""
    node=$(node_name)
    # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    layout=$(slurmd -C | head -n 1)
    real_mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$layout")
    [[ -n $real_mem ]] || die "could not read RealMemory from 'slurmd -C': $layout"
    # A bit below what slurmd measures: a node reporting less memory than its
    # configured RealMemory is drained.
    mem=$((real_mem * 95 / 100))
    layout=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//' <<<"$layout")

    rm -f "$STATE/gres.conf"
    case $GPUS in
    0) ;;
    1)
        # Slurm drops a gpu GRES without File= and wants a character device
        # there; /dev/null stands in for /dev/nvidia0 (task/none restricts nothing).
        cat >"$STATE/gres.conf" <<EOF
$MARKER
# Stand-in GPU: schedules --gpus requests as on a GPU node; no device behind it.
NodeName=$node Name=gpu File=/dev/null
EOF
        gres_types="GresTypes=gpu"
        gres_node="Gres=gpu:1"
        ;;
    *) die "SLURM_GPUS must be 0 or 1 (one stand-in GPU), not '$GPUS'" ;;
    esac
    cat >"$CONF.new" <<EOF
$MARKER
# One node, one partition; no cgroups, no systemd, no accounting database.
ClusterName=qm9test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# squeue keeps finished jobs this long; the SLURM executor plugin's squeue
# status command needs MinJobAge >= 3 x slurm-init-seconds-before-status-checks.
MinJobAge=600
ReturnToService=2
# seconds between SIGTERM and SIGKILL when a job is cancelled or times out
KillWait=10
InactiveLimit=0
$gres_types
NodeName=$node NodeAddr=127.0.0.1 $layout RealMemory=$mem $gres_node State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.new" "$CONF"
    link_system_conf
}

ours() { # is $1 a symlink into $STATE, or a file carrying the marker?
    [[ -L $1 && $(readlink "$1") == "$STATE"/* ]] || { [[ -f $1 ]] && grep -qF "$MARKER" "$1"; }
}

link_system_conf() {
    local file
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    for file in "$SYSTEM_CONF" "$SYSTEM_GRES"; do
        if [[ -e $file || -L $file ]] && ! ours "$file"; then
            die "$file exists and was not written by this script (a real cluster's config?); not replacing it"
        fi
    done
    ln -sfn "$CONF" "$SYSTEM_CONF"
    # slurmd reads gres.conf beside the slurm.conf it was given; clients beside the default path
    if [[ -f $STATE/gres.conf ]]; then ln -sfn "$STATE/gres.conf" "$SYSTEM_GRES"; else rm -f "$SYSTEM_GRES"; fi
}

unlink_system_conf() {
    local file
    for file in "$SYSTEM_CONF" "$SYSTEM_GRES"; do
        if [[ -L $file && $(readlink "$file") == "$STATE"/* ]]; then rm -f "$file"; fi
    done
}

# ---- daemons -----------------------------------------------------------------

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_daemon() { # name, then the command line; output appended to $STATE/name.out
    local name=$1 pid
    shift
    # setsid: a Ctrl-C in the caller's terminal does not reach the daemon.
    # Without job control the background child leads no process group, so
    # setsid execs in place and $! is the daemon's own PID.
    # 9>&-: the daemon must not keep this script's lock file open.
    setsid "$@" </dev/null >>"$STATE/$name.out" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$STATE/$name.pid"
    # wait until the exec chain (setsid, setpriv) has reached the daemon
    for _ in $(seq 1 50); do
        pid_of "$name" >/dev/null && break
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    say "started $name (pid $pid)"
}

stop_daemon() { # name: TERM, up to 15 s, then KILL; only the recorded PID
    local name=$1 pid
    if ! pid=$(pid_of "$name"); then
        rm -f "$STATE/$name.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do
        [[ -d /proc/$pid ]] || break
        sleep 0.2
    done
    if [[ -d /proc/$pid ]]; then
        say "$name (pid $pid) ignored TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        while [[ -d /proc/$pid ]]; do sleep 0.2; done
    fi
    rm -f "$STATE/$name.pid"
    say "stopped $name (pid $pid)"
}

stop_daemons() {
    local k
    for ((k = ${#DAEMONS[@]} - 1; k >= 0; k--)); do stop_daemon "${DAEMONS[k]}"; done
}

log_tails() {
    local f
    for f in "$STATE"/munged.out "$STATE"/slurmctld.log "$STATE"/slurmd.log; do
        [[ -s $f ]] || continue
        echo "---- last lines of $f" >&2
        tail -n 12 "$f" >&2
    done
}

node_state() { sinfo -h -N -n "$(node_name)" -o %t 2>/dev/null | head -n 1; }

fail_start() { # stop what this start began, show why, exit 1
    sinfo -R >&2 2>/dev/null || true
    log_tails
    stop_daemons
    unlink_system_conf
    die "$*"
}

wait_idle() {
    local deadline=$((SECONDS + START_TIMEOUT)) state="" name
    while ((SECONDS < deadline)); do
        for name in slurmctld slurmd; do
            pid_of "$name" >/dev/null || fail_start "$name exited during start-up (its log above; all logs in $STATE)"
        done
        state=$(node_state || true)
        case $state in
        idle | mix | alloc) return 0 ;;
        inval | drain | drng | fail) fail_start "node $(node_name) is '$state' (reason above; config $CONF)" ;;
        esac
        sleep 0.5
    done
    fail_start "node $(node_name) not idle after ${START_TIMEOUT}s (state: '${state:-no answer from slurmctld}'); logs above, all in $STATE"
}

running() { pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null && munge_works; }

# ---- commands ----------------------------------------------------------------

cmd_start() {
    [[ $(id -u) -eq 0 ]] || unavailable "needs root (package install, munged as the munge user, slurmd)"
    local tool
    for tool in flock setsid setpriv; do
        command -v "$tool" >/dev/null || unavailable "needs $tool (util-linux)"
    done
    lock
    install_packages
    if running; then
        say "already running (state in $STATE)"
        wait_idle
        return 0
    fi
    # Anything half-running from an earlier start goes first (only our PIDs).
    stop_daemons
    mkdir -p "$STATE"/{ctld,spool,run}
    local f
    for f in "$STATE"/*.log "$STATE"/*.out; do
        if [[ -f $f ]]; then mv -f "$f" "$f.old"; fi
    done
    write_config

    if ! munge_works; then # a munged already serving this machine is used as it is
        install -d -o munge -g munge -m 0755 /run/munge
        [[ -f /etc/munge/munge.key ]] || die "/etc/munge/munge.key is missing (the munge package creates it)"
        start_daemon munged setpriv --reuid munge --regid munge --init-groups /usr/sbin/munged -F
        for _ in $(seq 1 50); do
            munge_works && break
            sleep 0.2
        done
        munge_works || fail_start "munged does not answer (munge -n | unmunge fails)"
    fi
    # -c: no jobs or node states from an earlier cluster (a drained node stays drained otherwise)
    start_daemon slurmctld slurmctld -D -c -f "$CONF"
    start_daemon slurmd slurmd -D -f "$CONF" -N "$(node_name)"
    wait_idle
    say "node $(node_name) is $(node_state), partition debug; $(sinfo -h -o '%c CPUs, %m MB, %G' | head -n 1)"
    say "clients read $SYSTEM_CONF (a symlink to $CONF)"
}

cmd_stop() {
    [[ -d $STATE ]] || {
        say "nothing to stop ($STATE does not exist)"
        return 0
    }
    lock
    if pid_of slurmctld >/dev/null; then
        # Jobs first: their processes belong to slurmstepd, not to slurmd.
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ' || true)
        if [[ -n ${jobs// /} ]]; then
            say "cancelling jobs: $jobs"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 1 60); do
                [[ -z $(squeue -h -t PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED -o %i 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
    fi
    stop_daemons
    unlink_system_conf
}

cmd_status() {
    local name pid
    for name in "${DAEMONS[@]}"; do
        if pid=$(pid_of "$name"); then echo "$name: running (pid $pid)"; else echo "$name: not running (not started by this script)"; fi
    done
    if ! pid_of slurmctld >/dev/null; then
        echo "no cluster (state folder $STATE)"
        return 1
    fi
    sinfo
    squeue
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
