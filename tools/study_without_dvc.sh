#!/usr/bin/env bash
# The study's stages in dvc.yaml's order, run by hand where DVC is not installed (a lent
# GPU machine): every variant of params.yaml on seeds 0..N-1, device auto (CUDA there).
# Writes models.csv, centroids.csv and details.json into DEST; then, where DVC is:
#   python stages/study.py report --tables DEST --readme README.md
# usage: tools/study_without_dvc.sh N MNIST_ROOT DEST
set -euo pipefail
n=$1 mnist=$2 dest=$3
work=$(mktemp -d)
export PYTHONPATH=. PYTHONUNBUFFERED=1
python3 - "$n" "$work/params.yaml" <<'PY'
import sys, yaml
params = yaml.safe_load(open("params.yaml"))
params["seeds"] = list(range(int(sys.argv[1])))
yaml.safe_dump(params, open(sys.argv[2], "w"), sort_keys=False)
PY
variants=$(python3 -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['variants']))")
p=(--params "$work/params.yaml")
timed() { local start=$SECONDS; "$@"; echo "timing: $(( SECONDS - start )) s: $2 -> ${*: -1}" >&2; }
study_start=$SECONDS
timed python3 stages/templates.py "${p[@]}" --mnist "$mnist" --out "$work/templates"
timed python3 stages/classifier.py "${p[@]}" --mnist "$mnist" --out "$work/classifier.pt" \
    --metrics "$work/classifier.json"
for v in $variants; do
    timed python3 stages/scores.py "${p[@]}" --variant "$v" --mnist "$mnist" \
        --templates "$work/templates" --out "$work/scores/$v.npy"
    timed python3 stages/train.py "${p[@]}" --variant "$v" --mnist "$mnist" \
        --scores "$work/scores/$v.npy" --out "$work/models/$v"
    timed python3 stages/evaluate.py "${p[@]}" --models "$work/models/$v" \
        --classifier "$work/classifier.pt" --mnist "$mnist" --out "$work/eval/$v"
done
mkdir -p "$dest"
timed python3 stages/summarize.py "${p[@]}" --eval "$work/eval" --metrics "$dest/variants" \
    --details "$dest/details.json" \
    --table "$dest/models.csv" --centroids "$dest/centroids.csv"
echo "timing: study total $(( SECONDS - study_start )) s for $n seeds x ($variants)" >&2
