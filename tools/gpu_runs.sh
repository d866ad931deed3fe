#!/usr/bin/env bash
# Run several configs at once on a lent GPU machine (JAX, no TensorFlow, no internet) and pack the records.
#
#   bash tools/gpu_runs.sh SECONDS ID...      e.g. bash tools/gpu_runs.sh 540 bengio2003/mlp1 bengio2003/mlp9
#
# What the machine needs beside the working tree (see docs/performance.md, "Runs on a lent GPU"):
#   .whl/      keras, namex, optree wheels for its Python (the device README's pip download line)
#   shared/    shared/data/<name>/ for the data sets the configs read (a copy of ../shared/data/<name>)
#   .devgit/   a copy of .git, so the records carry the commit and whether the tree was dirty
# RUN_ARGS (e.g. --smoke) is added to every run. Each run is a plain `python -m lstm_hist run ID --out runs_gpu`, stopped by SIGTERM after SECONDS (the record is
# then "interrupted"; its checkpoint stays on the machine). Records, checkpoint states (no weights) and logs go
# to $OUT/gpu_runs.tgz; unpack it in the repo root and move runs_gpu/<paper>/*.json into results/<paper>/.
set -u
limit=$1; shift
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out" runs_gpu/logs
source "$(dirname "$0")/gpu_env.sh"
start=$(date +%s)
for id in "$@"; do
  log=runs_gpu/logs/${id//\//_}.log
  timeout -s TERM "$limit" python3 -m lstm_hist run "$id" --out runs_gpu --quiet ${RUN_ARGS:-} >"$log" 2>&1 &
done
# a GPU utilisation sample every 30 s, for docs/performance.md
(while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; done) \
  >runs_gpu/logs/nvidia-smi.log 2>&1 &
sampler=$!
wait $(jobs -p | grep -v "^$sampler$")
kill $sampler 2>/dev/null
echo "all runs ended after $(( $(date +%s) - start )) s"
for log in runs_gpu/logs/*.log; do echo "== $log"; tail -n 4 "$log"; done
tar czf "$out/gpu_runs.tgz" --exclude='*.npz' runs_gpu
ls -la "$out"
