# Sourced by tools/gpu_campaign.sh and tools/gpu_bench.sh on a lent GPU machine (see docs/performance.md,
# "Runs on a lent GPU"): unpacks the carried data sets, installs the carried wheels, selects JAX, and points git at
# the carried .devgit so the records and estimates name the commit. tools/gpu_prepare.sh makes the carried folders.
# on every call: a rerun on a warm machine gets a fresh copy of the working tree, without shared/
for archive in .gpu/*.tar.xz; do
  [ -e "$archive" ] || continue
  python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall('shared/data', filter='data')" "$archive" \
    || { echo "error: could not unpack $archive"; exit 1; }
done
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "error: could not install the carried wheels in .whl/"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false LSTM_HIST_OFFLINE=1 \
  PYTHONUNBUFFERED=1
if [ -d .devgit ]; then
  # the tree arrives without .git: the copy lets records.git_state() name the commit and compare the files
  export GIT_DIR=$PWD/.devgit GIT_WORK_TREE=$PWD
  git update-index -q --refresh >/dev/null 2>&1
  echo "commit $(git rev-parse HEAD); changed tracked files: $(git status --porcelain --untracked-files=no | wc -l)"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
