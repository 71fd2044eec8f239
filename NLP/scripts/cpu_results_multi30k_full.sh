#!/usr/bin/env bash
# NLP/README.md's Multi30k de->en table on all of its data (29,000 training pairs, test_2016_flickr 1,000) on a
# 2-core CPU: the preset's transformer teacher (3+3 layers, d 256, joint cased BPE of 10,000, 10 epochs) trained
# once; students (2+2 layers, d 128) alone, with word-level KD, with sequence-level KD and with both (Kim & Rush
# 2016), one seed of each at a time so that an interrupted schedule leaves whole seeds. The teacher's beam outputs on
# the training sources are decoded once into distill.cache_dir and shared by the sequence-level students of every
# seed.
# Students train 4 epochs (EPOCHS=10 gives the preset's schedule): at about 2 min an epoch alone and more with the
# teacher's forward, 10 epochs x 12 students did not fit in one sitting.
# Run from the repository root: bash NLP/scripts/cpu_results_multi30k_full.sh   (TEACHER=path/model.pt reuses one)
set -euo pipefail
source "$(dirname "$0")/cpu_results_env.sh"
export OMP_NUM_THREADS=2
MT="--config NLP/configs/multi30k.yaml --runs-dir $RUNS/multi30k-full data.path=$DATA/multi30k threads=2"
if [ -z "${TEACHER:-}" ]; then
  $P.train_teacher $MT
  TEACHER=$(newest 1 "$RUNS"/multi30k-full/nlp-multi30k-train_teacher-*)/checkpoints/model.pt
fi
$P.evaluate $MT evaluate.checkpoint=$TEACHER   # the teacher's row, decoded as the students are
KD="$MT teacher.checkpoint=$TEACHER distill.cache_dir=$RUNS/multi30k-full/teacher-beams student.epochs=${EPOCHS:-4}"
for SEED in ${SEEDS:-0 1 2}; do
  $P.distill $KD seed=$SEED method.name=supervised
  $P.distill $KD seed=$SEED method.name=seq_kd
  $P.distill $KD seed=$SEED method.name=word_kd
  $P.distill $KD seed=$SEED method.name=seq_word_kd
done
$P.report --runs "$RUNS"/multi30k-full --out "$RUNS"/multi30k-full/report
