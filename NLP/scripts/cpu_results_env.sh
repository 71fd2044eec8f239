# Sourced by the cpu_results_*.sh scripts: where runs and data go, the script runner, one torch thread.
RUNS=${RUNS:-runs/nlp}
DATA=${KD_DATA:-/work/shared/data}
P=".venv/bin/python -m kd.nlp.scripts"
export OMP_NUM_THREADS=1
# Run folders are <runs-dir>/nlp-<preset>-<script>-s<seed>-<YYYYmmdd-HHMMSS>[-N] (kd.common.utils.run_folder).
# newest N GLOB...: the N-th newest of the folders matching GLOB, by the time their names end with (not by seed).
newest() {
  local n=$1; shift
  ls -d "$@" | sed -E 's/^(.*-([0-9]{8}-[0-9]{6})(-[0-9]+)?)$/\2\3 \1/' | LC_ALL=C sort | tail -"$n" | head -1 | cut -d' ' -f2-
}
# The newest train_teacher run folder of a task (sst2, trec, multi30k, lm).
latest() { newest 1 "$RUNS"/nlp-$1-train_teacher-*; }
