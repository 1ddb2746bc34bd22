#!/usr/bin/env bash
# The training recipe at 1.5B-7B scale on one GPU, in about ten minutes:
#   bench build -> SFT on gold final answers (LoRA) -> GRPO with the paper's reward (LoRA,
#   vLLM rollouts where vLLM is installed) -> eval of base, SFT and GRPO on C1 and C2 beside
#   the offline default and gold-k K-means.
# Every stage resumes: run the same command again after a stop and finished stages are skipped,
# a stopped trainer continues from its newest checkpoint.
#
#   MODEL=Qwen/Qwen2.5-1.5B-Instruct OUT=runs/gpu bash scripts/train_gpu.sh
#   DRY_RUN=1 bash scripts/train_gpu.sh        # print the commands only
#
# Needs: pip install -e ".[train]" vllm (optional), a CUDA GPU, the corpora (CLUSTER_R1_DATA_DIR).
set -euo pipefail

MODEL="${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}"
OUT="${OUT:-runs/gpu}"
EVAL_LIMIT="${EVAL_LIMIT:-48}"
CLI="${CLI:-cluster-r1}"
VLLM=false
if python -c "import vllm" 2>/dev/null; then VLLM=true; fi

run() {
  echo "+ $*"
  if [[ -z "${DRY_RUN:-}" ]]; then "$@"; fi
}

done_stage() {  # a stage is done when its run folder says so
  [[ -z "${DRY_RUN:-}" ]] && [[ -f "$1/state.json" ]] && grep -q '"status": "done"' "$1/state.json"
}

if [[ ! -f "$OUT/bench/manifest.json" ]]; then
  run $CLI bench build --out "$OUT/bench" --min-texts 6 --max-texts 15 --n-train 16 --n-eval 4 --n-c2 4
fi
if ! done_stage "$OUT/sft"; then
  run $CLI train sft --config gpu-quick-sft --resume \
    --set model="$MODEL" --set train_file="$OUT/bench" --set output_dir="$OUT/sft"
fi
if ! done_stage "$OUT/grpo"; then
  run $CLI train grpo --config gpu-quick-grpo --resume --set use_vllm=$VLLM \
    --set model="$OUT/sft/final" --set train_file="$OUT/bench" --set output_dir="$OUT/grpo"
fi
for name in base sft grpo; do
  case $name in base) ckpt="$MODEL" ;; *) ckpt="$OUT/$name/final" ;; esac
  methods=agent
  if [[ $name == base ]]; then methods=agent,embed,kmeans; fi
  run $CLI eval --bench "$OUT/bench" --split C1,C2 --limit "$EVAL_LIMIT" --method $methods \
    --checkpoint "$ckpt" --prompt hint --strict --max-reasks 0 --no-salvage --max-tokens 1024 \
    --out "$OUT/eval-$name" -q
done
echo "results: $OUT/eval-{base,sft,grpo}/table.md; reward curve: $OUT/grpo/metrics.jsonl"
