#!/usr/bin/env bash
# The GPU measurements in one go, in under 8 minutes on one GPU (planned; not yet run on a GPU):
#   1. QM9's metadata table through the real Snakefile (all of QM9);
#   2. one training epoch at batch 512, width 128, 3 interactions, of SchNet and PaiNN, by the packed data path
#      (all of QM9 but 200 molecules) and by SchNetPack's own recipe (its AtomsDataModule, MatScipy neighbor
#      list, a loader worker per core; 20,000 molecules, the full epoch projected), in each precision:
#      molecules/s and peak GPU memory (benchmarks/gpu_epoch.py);
#   3. the tiny study (tests/workflow/tiny_study.yaml) through profiles/local on the GPU, to its report.
# It ends with the lines to paste into docs/benchmarks.md.
#
# Usage: benchmarks/gpu_check.sh [--precisions "32 bf16-mixed"] [--work DIR]
#   --precisions  training.precision values to measure (a value schemas/config.schema.yaml does not offer is
#                 skipped, said so)
#   --work        scratch folder (default: a new temporary one); left in place for a look afterwards
# Environment (the defaults are the GPU check; the test suite runs a tiny CPU version):
#   GPU_CHECK_DEVICE=cuda|cpu  GPU_CHECK_MOLECULES=0 (0: all of QM9)  GPU_CHECK_SPK_MOLECULES=20000
#   GPU_CHECK_BATCH=512  GPU_CHECK_WIDTH=128  GPU_CHECK_INTERACTIONS=3  GPU_CHECK_REPRESENTATIONS=schnet,painn
#   GPU_CHECK_STUDY_EXPERIMENTS="" (the tiny study's own list; e.g. "baseline")  GPU_CHECK_STEP_TIMEOUT_S=300
#   PYTHON=<repo>/.venv/bin/python (with a CUDA build of torch on the GPU machine)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
MOLECULES=${GPU_CHECK_MOLECULES:-0}
STEP_TIMEOUT=${GPU_CHECK_STEP_TIMEOUT_S:-300}
PRECISIONS="32 bf16-mixed"
WORK=""
while [ $# -gt 0 ]; do
	case "$1" in
	--precisions)
		PRECISIONS=$2
		shift 2
		;;
	--work)
		WORK=$2
		shift 2
		;;
	*)
		echo "gpu_check: unknown argument $1 (usage: gpu_check.sh [--precisions \"32 bf16-mixed\"] [--work DIR])" >&2
		exit 2
		;;
	esac
done
case "$DEVICE" in
cuda) ;;
cpu) export CUDA_VISIBLE_DEVICES="" ;; # Snakemake and torch see no GPU: the trainings run on the CPU
*)
	echo "gpu_check: GPU_CHECK_DEVICE=$DEVICE: use cuda or cpu" >&2
	exit 2
	;;
esac
if [ ! -x "$PYTHON" ]; then
	echo "gpu_check: no Python at $PYTHON: run 'make venv' (or set PYTHON to the project's environment)" >&2
	exit 2
fi
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}
mkdir -p "$WORK/study"
WORK=$(cd "$WORK" && pwd)
SUMMARY=()

if [ "$DEVICE" = cuda ]; then
	"$PYTHON" -c 'import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no GPU (CUDA build: {torch.version.cuda}); install a CUDA build "
             "of torch or check CUDA_VISIBLE_DEVICES; GPU_CHECK_DEVICE=cpu runs the CPU version")
print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")'
fi

# The study's overlay: the tiny study, optionally fewer molecules and experiments.
{
	if [ "$MOLECULES" != 0 ]; then echo "data: {max_molecules: $MOLECULES}"; fi
	if [ -n "${GPU_CHECK_STUDY_EXPERIMENTS:-}" ]; then echo "only_experiments: [${GPU_CHECK_STUDY_EXPERIMENTS// /, }]"; fi
	echo "tensorboard: false"
} >"$WORK/overlay.yaml"
snakemake_in_work() {
	(cd "$WORK/study" && timeout "$STEP_TIMEOUT" "$PYTHON" -m snakemake -s "$REPO/Snakefile" --directory "$WORK/study" \
		--configfile "$REPO/tests/workflow/tiny_study.yaml" "$WORK/overlay.yaml" "$@")
}

echo "== 1. QM9 metadata (rule qm9_metadata and its inputs)"
SECONDS=0
snakemake_in_work --cores all results/data/qm9.parquet >"$WORK/metadata.log" 2>&1 ||
	{
		tail -30 "$WORK/metadata.log"
		echo "gpu_check: the metadata table failed (log: $WORK/metadata.log)" >&2
		exit 1
	}
echo "metadata: $SECONDS s"

echo "== 2. one epoch per network, recipe and precision"
set +e
timeout "$STEP_TIMEOUT" "$PYTHON" "$REPO/benchmarks/gpu_epoch.py" --metadata "$WORK/study/results/data/qm9.parquet" \
	--device "$DEVICE" --molecules "$MOLECULES" --spk-molecules "${GPU_CHECK_SPK_MOLECULES:-20000}" \
	--batch "${GPU_CHECK_BATCH:-512}" --width "${GPU_CHECK_WIDTH:-128}" --interactions "${GPU_CHECK_INTERACTIONS:-3}" \
	--representations "${GPU_CHECK_REPRESENTATIONS:-schnet,painn}" --precisions "$PRECISIONS" \
	--work "$WORK/epochs" 2>&1 | grep -v -e "Warning" -e "warnings.warn" | tee "$WORK/epochs.log"
epoch_status=${PIPESTATUS[0]}
set -e
[ "$epoch_status" = 0 ] || echo "gpu_check: the epochs failed or ran out of time (status $epoch_status; 124: past ${STEP_TIMEOUT} s)"

echo "== 3. the tiny study through profiles/local on $DEVICE"
SECONDS=0
set +e
snakemake_in_work --profile "$REPO/profiles/local" results/tiny/report/report.html >"$WORK/study.log" 2>&1
study_status=$?
set -e
seconds=$SECONDS
trainings=$(grep -c "(Rule: train)" "$WORK/study.log" || true)
if [ "$study_status" = 0 ] && [ -s "$WORK/study/results/tiny/report/report.html" ]; then
	echo "tiny study: $seconds s, $trainings trainings, report $WORK/study/results/tiny/report/report.html"
	SUMMARY+=("| tiny study (tests/workflow/tiny_study.yaml, profiles/local) | $DEVICE | $seconds s | $trainings trainings |")
else
	tail -40 "$WORK/study.log"
	echo "gpu_check: the tiny study failed (status $study_status; log: $WORK/study.log)"
fi

echo
echo "== for docs/benchmarks.md ($(date -u +%Y-%m-%d), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "no git"), device $DEVICE)"
sed -n '/^for docs\/benchmarks.md/,$p' "$WORK/epochs.log" | grep "^|" || true
printf '%s\n' "${SUMMARY[@]}"
if [ "$epoch_status" != 0 ] || [ "$study_status" != 0 ]; then exit 1; fi
