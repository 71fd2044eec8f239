# Sourced by the cpu_results_*.sh scripts: where runs and data go, the script runner, one torch thread.
RUNS=${RUNS:-runs/nlp}
DATA=${KD_DATA:-/work/shared/data}
P=".venv/bin/python -m kd.nlp.scripts"
export OMP_NUM_THREADS=1
# The newest train_teacher run folder of a task (sst2, trec, multi30k, lm).
latest() { ls -d "$RUNS"/nlp-$1-train_teacher-* | tail -1; }
