#!/usr/bin/env bash
# NLP/README.md's SST-2 table on all of its data (67,349 training sentences, GLUE dev 872) on a 2-core CPU, for one
# teacher: MiniLM-L6 fine-tuned here with the preset's schedule (3 epochs at lr 5e-5: the table's teacher B), or
# TEACHER=path/model.pt for another (A, D: train_teacher with the overrides the README gives; B-h: the preset's schedule
# with data.holdout=0.05). Its training-set logits are cached once (distill.cache_dir); then, 3 seeds each: the BiLSTM
# (Tang et al. 2019, 3 epochs), a small BERT of 2 layers x 128 and the preset's 4 x 256 (random init, 2 epochs), each
# alone, with KD, and with KD on one augmented copy of each sentence labelled by the teacher (distill.augment.copies=1,
# Tang et al.'s transfer set); the BiLSTM on five copies for 1 and 2 epochs, on one for 6 (about the steps of five for
# 2), on ten for 1 and 2 and on 20 for 1; and a 3 x 384 copy of the teacher's layers 0, 2, 4 (DistilBERT-style, 1
# epoch), alone, with KD, with KD on the transfer set, with DistilBERT's cosine loss (online) and, for 2 epochs, alone
# and with KD. Each teacher's rows in the table are a subset of what this makes from it (the table names the teacher of
# each row); a student alone reads no teacher. A run takes 5-28 min here (the 4 x 256: about 8, 12-15 with the copies;
# the 3 x 384: 10-11, about 15 with the copies, about 16 for 2 epochs; the BiLSTM on five copies: about 9 an epoch, and
# 13 min once to label them; on ten, about 14 an epoch and 15 to label; on 20, about 26 and 26; on one copy, about 3.3
# an epoch).
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
SMALL_BERT_4x256="student.epochs=2"   # the preset's student (4 layers x 256, 4 heads, lr 2e-4)
# DistilBERT-style: the teacher's width and heads, 3 layers copied from its layers 0, 2, 4 (Sanh et al. 2019)
TEACHER_LAYERS="student.arch=small_bert student.num_layers=3 student.hidden_size=384 student.num_heads=12
student.init=teacher student.lr=5.0e-5 student.epochs=1"
for STUDENT in "$BILSTM" "$SMALL_BERT" "$SMALL_BERT_4x256" "$TEACHER_LAYERS"; do
  for SEED in ${SEEDS:-0 1 2}; do
    $P.distill $KD $STUDENT seed=$SEED method.name=supervised
    $P.distill $KD $STUDENT seed=$SEED method.name=kd
  done
done
for STUDENT in "$BILSTM" "$SMALL_BERT" "$SMALL_BERT_4x256" "$TEACHER_LAYERS"; do
  for SEED in ${SEEDS:-0 1 2}; do
    $P.distill $KD $STUDENT seed=$SEED method.name=kd distill.augment.copies=1
  done
done
for SEED in ${SEEDS:-0 1 2}; do
  $P.distill $KD $BILSTM student.epochs=1 seed=$SEED method.name=kd distill.augment.copies=5
  $P.distill $KD $BILSTM student.epochs=2 seed=$SEED method.name=kd distill.augment.copies=5
  $P.distill $KD $BILSTM student.epochs=6 seed=$SEED method.name=kd distill.augment.copies=1
  $P.distill $KD $BILSTM student.epochs=1 seed=$SEED method.name=kd distill.augment.copies=10
  $P.distill $KD $BILSTM student.epochs=2 seed=$SEED method.name=kd distill.augment.copies=10
  $P.distill $KD $BILSTM student.epochs=1 seed=$SEED method.name=kd distill.augment.copies=20
  $P.distill $KD $TEACHER_LAYERS seed=$SEED method.name=distilbert distill.mode=online
  $P.distill $KD $TEACHER_LAYERS student.epochs=2 seed=$SEED method.name=supervised
  $P.distill $KD $TEACHER_LAYERS student.epochs=2 seed=$SEED method.name=kd
done
$P.report --runs "$RUNS"/sst2-full --out "$RUNS"/sst2-full/report
