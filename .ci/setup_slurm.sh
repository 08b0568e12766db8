#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine for the SLURM tests (tests/workflow/test_slurm*.py):
# munged, slurmctld and slurmd as plain background daemons (no systemd, no accounting database), one
# partition `debug` holding this node. Recipe and measurements: /work/shared/spec/slurm_ci.md (Debian 12,
# root, ~7 s from a machine without SLURM packages). Without accounting `sacct` fails, so Snakemake must be
# run with `--slurm-status-command squeue` (profiles/slurm-ci does). Stop with .ci/stop_slurm.sh.
# Needs root and apt-get; an already running slurmctld is left alone.
set -euo pipefail
PARTITION=${PARTITION:-debug}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup_slurm.sh: needs root and apt-get" >&2
  exit 1
fi
if [ -s /run/slurm/slurmctld.pid ] && kill -0 "$(cat /run/slurm/slurmctld.pid)" 2>/dev/null; then
  echo "setup_slurm.sh: slurmctld already running"
  sinfo
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

H=$(hostname -s)
getent hosts "$H" >/dev/null || echo "127.0.0.1 $H" >>/etc/hosts

# munge: the Debian postinst creates the key; make sure it exists
if [ ! -s /etc/munge/munge.key ]; then
  mungekey -c -f -k /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 755 /run/munge
if ! { [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; }; then
  runuser -u munge -- /usr/sbin/munged
fi
munge -n | unmunge >/dev/null

install -d -o slurm -g slurm /run/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
# NodeName=<host> CPUs=.. Boards=.. SocketsPerBoard=.. CoresPerSocket=.. ThreadsPerCore=.. RealMemory=..
NODE_LINE=$(slurmd -C | head -1)
# MinJobAge >= 3 x the plugin's initial status wait, else it falls back to sacct (slurm_ci.md, pitfall 3)
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$H
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
$NODE_LINE State=UNKNOWN
PartitionName=$PARTITION Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF

/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 60); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 1
done
if [ "$(sinfo -h -o %T 2>/dev/null)" != idle ]; then
  echo "setup_slurm.sh: the node did not become idle; logs in /var/log/slurm" >&2
  sinfo >&2 || true
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  exit 1
fi
sinfo
