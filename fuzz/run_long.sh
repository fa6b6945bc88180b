#!/usr/bin/env bash
# The long fuzz run: by default 100,000 inputs through the document checks and 100,000 through
# the whole pipeline, seeded from the shared corpus (../shared/corpus/cases/*/Dockerfile) and
# from generated Dockerfiles, the two harnesses in parallel. Failing inputs are saved under
# fuzz/crashes/. Exit status 1 if any input failed.
#
#   fuzz/run_long.sh                         # 100,000 + 100,000 inputs, plain random loop
#   DOCUMENT_RUNS=1000000 PIPELINE_RUNS=200000 SEED=7 fuzz/run_long.sh
#   ATHERIS=1 fuzz/run_long.sh               # coverage-guided (atheris) instead of the loop
set -u
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-$repo/.venv/bin/python}"
document_runs="${DOCUMENT_RUNS:-100000}"
pipeline_runs="${PIPELINE_RUNS:-100000}"
seed="${SEED:-1}"
crashes="$here/crashes"
logs="$(mktemp -d)"

if [ "${ATHERIS:-0}" = "1" ]; then
    seeds="$(mktemp -d)"
    for case in "$repo"/../shared/corpus/cases/*/; do
        [ -f "$case/Dockerfile" ] && cp "$case/Dockerfile" "$seeds/$(basename "$case")"
    done
    mkdir -p "$crashes"
    "$python" "$here/fuzz_document.py" -runs="$document_runs" -artifact_prefix="$crashes/document-" "$seeds" >"$logs/document.log" 2>&1 &
    "$python" "$here/fuzz_pipeline.py" -runs="$pipeline_runs" -artifact_prefix="$crashes/pipeline-" "$seeds" >"$logs/pipeline.log" 2>&1 &
else
    "$python" "$here/fuzz_document.py" --runs "$document_runs" --seed "$seed" --crashes "$crashes" >"$logs/document.log" 2>&1 &
    "$python" "$here/fuzz_pipeline.py" --runs "$pipeline_runs" --seed "$seed" --crashes "$crashes" >"$logs/pipeline.log" 2>&1 &
fi
status=0
wait %1 || status=1
wait %2 || status=1
tail -n 3 "$logs/document.log" "$logs/pipeline.log"
echo "full logs: $logs"
exit "$status"
