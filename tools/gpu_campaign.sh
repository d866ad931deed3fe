#!/usr/bin/env bash
# A campaign on a lent GPU machine (the `device` tool; docs/performance.md, "Runs on a lent GPU"):
#
#   bash tools/gpu_campaign.sh SECONDS CAMPAIGN-ARGS...
#   e.g. bash tools/gpu_campaign.sh 540 'bengio2003/mlp*' --gpus-per-task 0.125
#
# is `lstm-hist campaign CAMPAIGN-ARGS --until +SECONDS` (records into results/, as on any machine), on Ray when
# the machine has it and otherwise with --engine local (Ray's wheel, 79 MB, does not fit the tool's 64 MiB carry).
# What it needs beside the working tree, made by `bash tools/gpu_prepare.sh DATASET...`, all in .git/info/exclude
# and named in the tool's `carry`:
#   .whl/      keras, namex, optree wheels for its Python
#   .gpu/      DATASET.tar.xz for the data sets the configs read (unpacked into shared/data/ by gpu_env.sh)
#   .devgit/   HEAD's commit, trees and index, so the records carry the commit and whether the tree was dirty
# The files the campaign wrote under results/ (records, kept checkpoints, logs; no weights) are packed into
# $OUT/campaign.tgz: unpack it in the repository root. Running the same line again continues the campaign.
set -u
limit=$1; shift
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
source "$(dirname "$0")/gpu_env.sh"
engine=local
python3 -c "import ray" 2>/dev/null && engine=ray
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
marker=$(mktemp)
sleep 1  # files written in the marker's second count as new
python3 -m lstm_hist campaign "$@" --engine "$engine" --num-gpus "${gpus:-0}" --until "+$limit" --status-every 60
status=$?
find results -newer "$marker" -type f ! -path '*.work/*' ! -name '*.npz' | tar czf "$out/campaign.tgz" -T -
tar tzf "$out/campaign.tgz"
exit $status
