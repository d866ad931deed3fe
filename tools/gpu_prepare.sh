#!/usr/bin/env bash
# Prepares, here, what tools/gpu_campaign.sh and tools/gpu_bench.sh need beside the working tree on a lent GPU
# machine (docs/performance.md, "Runs on a lent GPU"):
#
#   bash tools/gpu_prepare.sh [DATASET...]        e.g. PYTHON=.venv/bin/python bash tools/gpu_prepare.sh fsdd
#
# then name .whl, .devgit and .gpu in the device tool's `carry`. All three are listed in .git/info/exclude.
#   .whl/     keras, namex and optree wheels (this checkout's versions) for the GPU machine's Python 3.12, which has
#             JAX but neither Keras nor internet
#   .devgit/  HEAD's commit, its trees and the index (≈ 0.3 MB), enough for a record to name the commit and say
#             whether tracked files changed; a copy of .git does not fit the tool's 64 MiB beside the ≈ 47 MB of
#             tracked files
#   .gpu/     DATASET.tar.xz of ../shared/data/DATASET (xz because of the same limit: FSDD's 21.6 MB of WAVs pack
#             to 13.9 MB); tools/gpu_env.sh unpacks it into shared/data/ there
set -eu
cd "$(git rev-parse --show-toplevel)"
python=${PYTHON:-python3}
for path in /.whl/ /.devgit/ /.gpu/ /shared/; do
  grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >>.git/info/exclude
done

rm -rf .whl && mkdir .whl
pins=$("$python" -c "from importlib.metadata import version as v; print(*(f'{d}=={v(d)}' for d in ('keras', 'namex', 'optree')))")
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl $pins

# git status compares the files' hashes with the index's, so the blobs themselves need not travel
git update-index -q --refresh || true
rm -rf .devgit && mkdir -p .devgit/objects/pack .devgit/refs
git rev-parse HEAD >.devgit/HEAD
cp "$(git rev-parse --git-path index)" .devgit/index
printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n' >.devgit/config
{ git rev-parse HEAD 'HEAD^{tree}'; git ls-tree -r -t HEAD | awk '$2 == "tree" {print $3}'; } \
  | git pack-objects -q .devgit/objects/pack/pack >/dev/null

rm -rf .gpu && mkdir .gpu
for name in "$@"; do
  [ -d "../shared/data/$name" ] || { echo "error: no data set ../shared/data/$name" >&2; exit 2; }
  tar cf - -C ../shared/data "$name" | xz -6 -T0 >".gpu/$name.tar.xz"
done
du -sh .whl .devgit .gpu
echo "tracked files: $(git ls-files -z | du -cb --files0-from=- | tail -n 1 | cut -f 1) bytes (the tool's limit: 64 MiB in all)"
