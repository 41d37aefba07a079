#!/usr/bin/env bash
# A one-node SLURM cluster and an SSH server on this machine, for the remote-computer and scheduler tests
# (tests/services/test_remote_scheduler.py). Idempotent: installs Debian's packages when missing, writes the
# configuration once and starts only what is not running. Root or passwordless sudo is needed (as for bootstrap.sh).
#
#   munge + slurmctld + slurmd: cluster "lps", partition "debug" = this host, jobs share its cores (cons_tres)
#   sshd on 127.0.0.1:22 with key-based login for the current user (~/.ssh/id_ed25519, known_hosts for localhost)
set -euo pipefail
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

missing=()
for pkg in munge slurmctld slurmd slurm-client openssh-server openssh-client; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

host="$(hostname -s)"
cpus="$(nproc)"
memory_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"

# --- munge (SLURM's authentication) ---
if [ ! -s /etc/munge/munge.key ]; then
    $sudo_cmd mungekey --create --force 2>/dev/null || $sudo_cmd create-munge-key -f
fi
$sudo_cmd mkdir -p /run/munge /var/log/munge /var/lib/munge
$sudo_cmd chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
$sudo_cmd chmod 0700 /etc/munge /var/log/munge /var/lib/munge
$sudo_cmd chmod 0755 /run/munge
$sudo_cmd chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
    $sudo_cmd runuser -u munge -- /usr/sbin/munged
fi

# --- SLURM ---
conf=/etc/slurm/slurm.conf
if [ ! -f "$conf" ] || ! grep -q "^NodeName=$host " "$conf"; then
    $sudo_cmd tee "$conf" >/dev/null <<CONF
# Written by aiida-lps scripts/start-cluster.sh: one-node test cluster on this machine.
ClusterName=lps
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# short time-limit granularity for the tests: a job over its limit is signalled at once and killed 2 s later
OverTimeLimit=0
KillWait=2
MinJobAge=300
InactiveLimit=0
NodeName=$host CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
fi
$sudo_cmd mkdir -p /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
if ! pgrep -x slurmctld >/dev/null; then
    $sudo_cmd /usr/sbin/slurmctld
fi
if ! pgrep -x slurmd >/dev/null; then
    $sudo_cmd /usr/sbin/slurmd
fi
for _ in $(seq 1 30); do
    state="$(sinfo -h -N -o '%t' 2>/dev/null | head -n1 || true)"
    case "$state" in idle*|mix*|alloc*) break ;; down*|drain*) $sudo_cmd scontrol update nodename="$host" state=resume || true ;; esac
    sleep 1
done

# --- SSH server with key-based login for this user ---
$sudo_cmd mkdir -p /run/sshd
$sudo_cmd ssh-keygen -A >/dev/null
if ! pgrep -x sshd >/dev/null; then
    $sudo_cmd /usr/sbin/sshd -o ListenAddress=127.0.0.1 -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password
fi
mkdir -p "$HOME/.ssh"
chmod 700 "$HOME/.ssh"
[ -f "$HOME/.ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -f "$HOME/.ssh/id_ed25519"
touch "$HOME/.ssh/authorized_keys"
grep -qF "$(cat "$HOME/.ssh/id_ed25519.pub")" "$HOME/.ssh/authorized_keys" || cat "$HOME/.ssh/id_ed25519.pub" >> "$HOME/.ssh/authorized_keys"
chmod 600 "$HOME/.ssh/authorized_keys"
touch "$HOME/.ssh/known_hosts"
for name in localhost 127.0.0.1; do
    ssh-keygen -F "$name" -f "$HOME/.ssh/known_hosts" >/dev/null && continue
    for _ in $(seq 1 10); do
        keys="$(ssh-keyscan "$name" 2>/dev/null || true)"
        [ -n "$keys" ] && { echo "$keys" >> "$HOME/.ssh/known_hosts"; break; }
        sleep 1
    done
done
ssh -o BatchMode=yes localhost true
sinfo -h -o '%P %a %D %t' | head -n1
