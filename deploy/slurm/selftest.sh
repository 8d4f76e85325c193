#!/bin/bash
# Self-test of sharded sweeps on a real (single-node) Slurm: installs Debian's slurm-wlm and
# munge if needed, starts munged, slurmctld and slurmd on this machine, runs a 4-task job
# array of a small sweep, merges the shards and checks the result is byte-identical to the
# same sweep run unsharded (the wall_seconds column aside). Needs root; not run in CI.
#
#   bash deploy/slurm/selftest.sh [path/to/pacer]
set -euo pipefail
cd "$(dirname "$0")/../.."
PACER=$(realpath "${1:-target/release/pacer}")
WORK=$(mktemp -d /tmp/pacer-slurm.XXXXXX)
chmod 755 "$WORK"
HOST=$(hostname -s)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
grep -q "[[:space:]]$HOST\b" /etc/hosts || echo "127.0.0.1 $HOST" >>/etc/hosts

# munge: a key, then the daemon as its own user.
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
pgrep -x munged >/dev/null || runuser -u munge -- munged
munge -n | unmunge >/dev/null && echo "munge: ok"

# A one-node cluster without cgroups or accounting.
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=pacer-selftest
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 30); do
    sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed|alloc" && break
    sleep 1
done
sinfo

SWEEP=(small-20 --set duration_s=1800 --grid pacing.goal.overdial_rate=0.01,0.03,0.05
    --grid pacing.algorithm=predictive,advanced_small_group --seeds 3 --threads 1)
cat >"$WORK/array.sbatch" <<JOB
#!/bin/bash
#SBATCH --job-name=pacer-selftest
#SBATCH --cpus-per-task=1
#SBATCH --output=$WORK/task-%a.log
cd "$PWD"
"$PACER" sweep ${SWEEP[*]} --out "$WORK/shard-\${SLURM_ARRAY_TASK_ID}.csv"
JOB
echo "submitting a 4-task array"
sbatch --wait --array=0-3 "$WORK/array.sbatch"
cat "$WORK"/task-*.log
"$PACER" merge "$WORK"/shard-*.csv --out "$WORK/merged.csv"
"$PACER" sweep "${SWEEP[@]}" --out "$WORK/whole.csv" >/dev/null
# The last column is wall-clock time: the one field allowed to differ.
drop_wall() { awk -F, 'BEGIN { OFS = "," } { NF = NF - 1; print }' "$1"; }
if cmp <(drop_wall "$WORK/merged.csv") <(drop_wall "$WORK/whole.csv"); then
    echo "selftest: OK: the merged 4-shard sweep equals the unsharded one ($(wc -l <"$WORK/whole.csv") lines, wall_seconds aside)"
else
    diff <(drop_wall "$WORK/merged.csv") <(drop_wall "$WORK/whole.csv") | head -20
    echo "selftest: FAILED"
    exit 1
fi
