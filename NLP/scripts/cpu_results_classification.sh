#!/usr/bin/env bash
# The shortened CPU schedule behind NLP/README.md's SST-2 and TREC rows (2 shared CPU cores, no GPU).
# Run from the repository root: bash NLP/scripts/cpu_results_classification.sh
set -euo pipefail
source "$(dirname "$0")/cpu_results_env.sh"

# SST-2: MiniLM-L6 teacher fine-tuned on 2,000 training sentences for 1 epoch (once); students on the same 2,000,
# seeds 0, 1, 2: small BERT (2 layers, hidden 128) alone, with KD and with TinyBERT's feature terms (online: 0.5 CE
# + 0.5 T^2 KL + the weights below), and a 3 x 384 copy of the teacher's layers 0, 2, 4 (DistilBERT-style) alone,
# with KD and with DistilBERT's cosine loss. Two threads, one run at a time: about 36 min in all.
export OMP_NUM_THREADS=2
SST2="--config NLP/configs/sst2.yaml --runs-dir $RUNS/sst2-2000 data.path=$DATA/sst2 data.train_subset=2000 threads=2"
STUDENT="student.num_layers=2 student.hidden_size=128 student.num_heads=2 student.epochs=6 student.lr=5.0e-4"
D3="student.num_layers=3 student.hidden_size=384 student.num_heads=12 student.init=teacher student.epochs=6 student.lr=5.0e-5"
TB="distill.mode=online method.name=tinybert"
W="methods.tinybert"
$P.train_teacher $SST2 teacher.epochs=1 teacher.lr=1.0e-4
T=$(newest 1 "$RUNS"/sst2-2000/nlp-sst2-train_teacher-*)/checkpoints/model.pt
last_run() { newest 1 "$RUNS"/sst2-2000/nlp-sst2-distill-s$SEED-*; }
ALONE=() WITH_KD=()  # per seed, the small BERT's run folders, for the throughput below
for SEED in ${SEEDS:-0 1 2}; do
  K="$SST2 teacher.checkpoint=$T seed=$SEED"
  $P.distill $K $STUDENT method.name=supervised
  ALONE+=("$(last_run)")
  $P.distill $K $STUDENT method.name=kd
  WITH_KD+=("$(last_run)")
  for WEIGHTS in "$W.hidden_weight=0" "$W.hidden_weight=0.1 $W.attention_weight=0" "$W.attention_weight=0" \
                 "$W.hidden_weight=1.0"; do
    $P.distill $K $STUDENT $TB $WEIGHTS
  done
  $P.distill $K $STUDENT $TB $W.feature_epochs=3 student.epochs=9
  $P.distill $K $D3 method.name=supervised
  $P.distill $K $D3 method.name=kd
  $P.distill $K $D3 distill.mode=online method.name=distilbert
done
# Throughput side by side: the teacher and the first seed's two small BERT students evaluated one after another in
# the same conditions (batches of 32 dev sentences, 1 thread).
export OMP_NUM_THREADS=1
for CKPT in "$T" "${ALONE[0]}/checkpoints/model.pt" "${WITH_KD[0]}/checkpoints/model.pt"; do
  $P.evaluate $SST2 threads=1 teacher.checkpoint=$T evaluate.checkpoint=$CKPT
done
$P.report --runs "$RUNS"/sst2-2000 --out "$RUNS"/sst2-2000/report

# TREC-6: MiniLM-L6 teacher on 1,500 training questions for 2 epochs; BiLSTM student (own word vocabulary)
TREC="--config NLP/configs/trec.yaml --runs-dir $RUNS data.path=$DATA/trec data.train_subset=1500 threads=1"
$P.train_teacher $TREC teacher.epochs=2 teacher.lr=1.0e-4
T=$(latest trec)/checkpoints/model.pt
$P.distill $TREC teacher.checkpoint=$T student.epochs=8 method.name=supervised
$P.distill $TREC teacher.checkpoint=$T student.epochs=8 method.name=kd
