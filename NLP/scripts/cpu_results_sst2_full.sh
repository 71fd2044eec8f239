#!/usr/bin/env bash
# NLP/README.md's SST-2 table on all of its data (67,349 training sentences, GLUE dev 872) on a 2-core CPU:
# MiniLM-L6 teacher fine-tuned once (the preset's 3 epochs at lr 5e-5), its training-set logits cached once
# (distill.cache_dir), then the BiLSTM (Tang et al. 2019, 3 epochs) and a small BERT (2 layers x 128, random init,
# 2 epochs), each alone and with KD, and the BiLSTM with KD on one augmented copy of each sentence labelled by the
# teacher (distill.augment.copies=1, Tang et al.'s transfer set), 3 seeds each. The preset's 4 x 256 small BERT ran
# at 5.3 steps/s here (20 min a run): it did not fit.
# Run from the repository root: bash NLP/scripts/cpu_results_sst2_full.sh   (TEACHER=path/model.pt reuses a teacher)
set -euo pipefail
source "$(dirname "$0")/cpu_results_env.sh"
export OMP_NUM_THREADS=2
SST2="--config NLP/configs/sst2.yaml --runs-dir $RUNS/sst2-full data.path=$DATA/sst2 threads=2"
if [ -z "${TEACHER:-}" ]; then
  $P.train_teacher $SST2
  TEACHER=$(newest 1 "$RUNS"/sst2-full/nlp-sst2-train_teacher-*)/checkpoints/model.pt
fi
KD="$SST2 teacher.checkpoint=$TEACHER distill.cache_dir=$RUNS/sst2-full/teacher-logits student.epochs=3"
BILSTM="student.arch=bilstm student.lr=1.0e-3"
SMALL_BERT="student.arch=small_bert student.num_layers=2 student.hidden_size=128 student.num_heads=2 student.lr=5.0e-4
student.epochs=2"
for STUDENT in "$BILSTM" "$SMALL_BERT"; do
  for SEED in ${SEEDS:-0 1 2}; do
    $P.distill $KD $STUDENT seed=$SEED method.name=supervised
    $P.distill $KD $STUDENT seed=$SEED method.name=kd
  done
done
for SEED in ${SEEDS:-0 1 2}; do
  $P.distill $KD $BILSTM seed=$SEED method.name=kd distill.augment.copies=1
done
$P.report --runs "$RUNS"/sst2-full --out "$RUNS"/sst2-full/report
