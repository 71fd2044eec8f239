#!/usr/bin/env bash
# The GPU checks of benchmarks/README.md in one call of under 10 minutes, run from the repository root:
#
#   bash benchmarks/gpu_session.sh            # needs .data/ as benchmarks/README.md copies it
#
# the CUDA tests, vision_throughput.py, nlp_throughput.py on SST-2, time_to_accuracy.py on CIFAR-10, and
# vision_throughput.py --compile with what is left of $BUDGET_S seconds. Each step has its own time limit (cut to
# what is left), so a step that fails or runs long leaves the next ones their time, and each prints as it goes
# (an epoch, a loop), so a step stopped at its limit still says how far it got.
# Logs and JSON go to $OUT (the device tool's folder; ./gpu-out elsewhere), run folders to $RUNS.
OUT=${OUT:-gpu-out}
RUNS=${RUNS:-/tmp/kd-gpu-runs}
PY=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-560}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

step() {  # step NAME SECONDS COMMAND...: the command under `timeout`, its output shown and kept in $OUT/NAME.log
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    ((limit > BUDGET_S - SECONDS)) && limit=$((BUDGET_S - SECONDS))
    ((limit < 20)) && { echo "== $name: skipped, $limit s left"; return; }
    echo "== $name (at most $limit s): $*"
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
$PY -m pip install -q --no-deps --no-build-isolation -e . || exit 1

# only the files that hold gpu-marked tests: the device's Python lacks gymnasium, which other test files import
step gpu_tests 100 $PY -m pytest -q -p no:cacheprovider -m gpu $(grep -rl "pytest.mark.gpu" tests)
step vision 90 $PY benchmarks/vision_throughput.py
step nlp 60 $PY benchmarks/nlp_throughput.py --sst2 .data/sst2-train.tsv --json "$OUT/nlp.json"
step tta 300 $PY benchmarks/time_to_accuracy.py --cifar10 .data/cifar10_jpeg.py --runs-dir "$RUNS" \
    --json "$OUT/tta.json"
step vision_compiled "$BUDGET_S" $PY benchmarks/vision_throughput.py --compile --json "$OUT/vision_compiled.json"
