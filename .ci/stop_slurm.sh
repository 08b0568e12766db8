#!/usr/bin/env bash
# Stop the daemons started by .ci/setup_slurm.sh, by PID, in reverse start order (slurmd deletes its pid
# file on exit, so each PID is read before the kill). Jobs still queued or running are cancelled first.
squeue --noheader --format %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid; do
  [ -s "$f" ] || continue
  p=$(cat "$f")
  kill "$p" 2>/dev/null && echo "stopped $p ($f)"
  for _ in $(seq 20); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.5
  done
done
true
