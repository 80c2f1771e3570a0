#!/usr/bin/env bash
# Bring up the SLURM programs that tests/test_sweep_slurm.py starts as a one-node cluster, so that
# `make test` needs no manual step (the fixture calls this script when `sbatch` is missing).
#
# Usage: tests/install_slurm.sh
# `sbatch`, `slurmctld`, `slurmd` and `munged` on PATH -> nothing to do; root with apt-get ->
# Debian's slurm-wlm and munge (seconds; what CI machines have); otherwise one line saying what to
# install, and exit status 1.
set -euo pipefail

have_all() {
  local program
  for program in sbatch slurmctld slurmd munged; do
    command -v "$program" >/dev/null 2>&1 || [[ -x "/usr/sbin/$program" ]] || return 1
  done
}

if have_all; then
  exit 0
fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 \
  && apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
  && have_all; then
  exit 0
fi
echo "error: no SLURM for the sweep's cluster test; install Debian's (as root: apt-get install slurm-wlm munge)" >&2
exit 1
