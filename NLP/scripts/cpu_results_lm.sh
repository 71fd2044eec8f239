#!/usr/bin/env bash
# The shortened CPU schedule behind NLP/README.md's LM perplexity rows (2 shared CPU cores, no GPU).
# Run from the repository root: bash NLP/scripts/cpu_results_lm.sh
set -euo pipefail
source "$(dirname "$0")/cpu_results_env.sh"
# GPT-2 teacher (3 layers, d 128) trained from scratch on 10,000 English Multi30k sentences for 4 epochs;
# student 1 layer, d 64; perplexity on the 1,014 validation sentences.
LM="--config NLP/configs/lm.yaml --runs-dir $RUNS data.path=$DATA/multi30k data.train_subset=10000 threads=1"
SIZES="teacher.n_layer=3 teacher.n_embd=128 teacher.n_head=4 student.n_layer=1 student.n_embd=64 student.n_head=2"
$P.train_teacher $LM $SIZES teacher.epochs=4
T=$(latest lm)/checkpoints/model.pt
# (the table was made with the earlier distill.weights key: the same losses as these methods)
$P.distill $LM $SIZES teacher.checkpoint=$T student.epochs=4 method.name=supervised
$P.distill $LM $SIZES teacher.checkpoint=$T student.epochs=4 method.name=kd
