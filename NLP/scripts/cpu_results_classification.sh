#!/usr/bin/env bash
# The shortened CPU schedule behind NLP/README.md's SST-2 and TREC rows (2 shared CPU cores, no GPU).
# Run from the repository root: bash NLP/scripts/cpu_results_classification.sh
set -euo pipefail
source "$(dirname "$0")/cpu_results_env.sh"

# SST-2: MiniLM-L6 teacher fine-tuned on 2,000 training sentences for 1 epoch; small BERT (2 layers, hidden 128)
SST2="--config NLP/configs/sst2.yaml --runs-dir $RUNS data.path=$DATA/sst2 data.train_subset=2000 threads=1"
STUDENT="student.num_layers=2 student.hidden_size=128 student.num_heads=2 student.epochs=6 student.lr=5.0e-4"
$P.train_teacher $SST2 teacher.epochs=1 teacher.lr=1.0e-4
T=$(latest sst2)/checkpoints/model.pt
$P.distill $SST2 teacher.checkpoint=$T $STUDENT method.name=supervised
$P.distill $SST2 teacher.checkpoint=$T $STUDENT method.name=kd
# Throughput side by side: teacher and both SST-2 students evaluated one after another in the same conditions
# (batch of 32 dev sentences, 1 thread).
latest_distill() { newest $2 "$RUNS"/nlp-$1-distill-*; }
for CKPT in "$T" "$(latest_distill sst2 2)/checkpoints/model.pt" "$(latest_distill sst2 1)/checkpoints/model.pt"; do
  $P.evaluate $SST2 teacher.checkpoint=$T evaluate.checkpoint=$CKPT
done
# Feature losses (online, TinyBERT: 0.5 CE + 0.5 T^2 KL + the weights below) and DistilBERT-style initialisation
# from the teacher's layers 0, 2, 4
TB="methods.tinybert"
for W in "$TB.hidden_weight=0" "$TB.hidden_weight=0.1 $TB.attention_weight=0" "$TB.attention_weight=0" \
         "$TB.hidden_weight=1.0"; do
  $P.distill $SST2 teacher.checkpoint=$T $STUDENT distill.mode=online method.name=tinybert $W
done
$P.distill $SST2 teacher.checkpoint=$T $STUDENT distill.mode=online method.name=tinybert $TB.feature_epochs=3 \
  student.epochs=9
D3="student.num_layers=3 student.hidden_size=384 student.num_heads=12 student.init=teacher student.epochs=6 student.lr=5.0e-5"
$P.distill $SST2 teacher.checkpoint=$T $D3 method.name=supervised
$P.distill $SST2 teacher.checkpoint=$T $D3 method.name=kd
$P.distill $SST2 teacher.checkpoint=$T $D3 distill.mode=online method.name=distilbert

# TREC-6: MiniLM-L6 teacher on 1,500 training questions for 2 epochs; BiLSTM student (own word vocabulary)
TREC="--config NLP/configs/trec.yaml --runs-dir $RUNS data.path=$DATA/trec data.train_subset=1500 threads=1"
$P.train_teacher $TREC teacher.epochs=2 teacher.lr=1.0e-4
T=$(latest trec)/checkpoints/model.pt
$P.distill $TREC teacher.checkpoint=$T student.epochs=8 method.name=supervised
$P.distill $TREC teacher.checkpoint=$T student.epochs=8 method.name=kd
