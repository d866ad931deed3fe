#!/usr/bin/env bash
# Step-rate estimates on a lent GPU machine, one at a time (timings must not share the GPU):
#
#   bash tools/gpu_bench.sh SECONDS ID...     e.g. bash tools/gpu_bench.sh 30 chung2014/jsb_gru
#
# Runs `lstm-hist bench ID --save` for each id (each stopped after SECONDS) and, first, the trial-scaling benchmark
# of the 1997 cell on JAX; packs the estimates and logs into $OUT/gpu_bench.tgz. Same carried files as
# tools/gpu_campaign.sh.
set -u
limit=$1; shift
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out" bench_gpu/logs
source "$(dirname "$0")/gpu_env.sh"
timeout -s TERM $(( limit * 2 )) python3 benchmarks/bench_trials.py --backends jax --trials 1 10 30 --updates 400 \
  --repeat 2 --out bench_gpu/trials_scaling.json >bench_gpu/logs/bench_trials.log 2>&1
tail -n 8 bench_gpu/logs/bench_trials.log
for id in "$@"; do
  log=bench_gpu/logs/${id//\//_}.log
  timeout -s TERM "$limit" python3 -m lstm_hist bench "$id" --save --out bench_gpu >"$log" 2>&1
  echo "== $id: $(grep -E 'steps_per_second|updates_per_second|estimated_wall' "$log" | tr -s ' ' | tr '\n' ';')"
  tar czf "$out/gpu_bench.tgz" bench_gpu  # after each, so a cut-off call still returns what ran
done
tar czf "$out/gpu_bench.tgz" bench_gpu
