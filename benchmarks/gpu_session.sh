#!/usr/bin/env bash
# The GPU rows of benchmarks/RESULTS.md in one prepared call on a lent GPU machine (issues 2, 4, 5, 6, 9, 19, 20, 21, 22, 23).
#
# Run from the repository root there:  bash benchmarks/gpu_session.sh
# It uses that machine's own python3 (PyTorch, torchvision, PyG, Lightning and timm are installed there)
# with PYTHONPATH=src instead of installing deepzoo, and gives every benchmark its own time limit so the
# whole stays inside one 9-minute call; the figures most wanted come first. One log per part, with the
# machine in machine.txt, goes to ./gpu_logs, or — on the device tool, which brings back at most 8 files
# from $OUT — into $OUT/gpu_logs.tgz, re-packed after every part so a cut-off call still returns them.
#
# Optuna, mnist1d, Captum and tokenizers (and their needs) are not on the GPU machine. Their wheels travel in .whl (name it in
# the device tool's `carry`; .git/info/exclude lists /.whl/), fetched here once with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl \
#     optuna alembic sqlalchemy colorlog mako greenlet mnist1d captum tokenizers huggingface_hub
# and installed there into /tmp/site.
# DEVICE=cpu LIMIT_SCALE=0.1 PYTHON=.venv/bin/python give a quick dry run of the script itself on a CPU.
set -u
logs="${OUT:+/tmp/gpu_logs}"
logs="${logs:-gpu_logs}"
device="${DEVICE:-cuda}"
scale="${LIMIT_SCALE:-1}"
py="${PYTHON:-python3}"
mkdir -p "$logs"
if [ -d .whl ] && ! "$py" -c "import optuna, mnist1d, captum, tokenizers" 2>/dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$logs/machine.txt"

pack() {  # the logs so far into the one file the device tool brings back
    if [ -n "${OUT:-}" ]; then tar czf "$OUT/gpu_logs.tgz" -C "$logs" .; fi
}

run() {  # run LIMIT_S NAME SCRIPT ARGS...: one benchmark under its own limit, its log kept whatever happens
    local limit name
    limit=$(python3 -c "print(max(5, int($1 * $scale)))")
    name=$2
    shift 2
    echo "== $name (limit ${limit} s)"
    timeout "$limit" "$py" "$@" --device "$device" > "$logs/$name.log" 2>&1
    echo "exit status $?" >> "$logs/$name.log"
    tail -n 20 "$logs/$name.log"
    pack
}

suite() {  # the tests in tests/gpu on the device, their log and durations kept whatever happens
    local limit
    limit=$(python3 -c "print(max(5, int($1 * $scale)))")
    echo "== gpu_suite (limit ${limit} s)"
    DEEPZOO_GPU_TESTS_DEVICE="$device" timeout "$limit" "$py" -m pytest tests/gpu -p no:cacheprovider \
        -rfEs --durations=0 > "$logs/gpu_suite.log" 2>&1
    echo "exit status $?" >> "$logs/gpu_suite.log"
    tail -n 25 "$logs/gpu_suite.log"
    pack
}

# The GPU suite first (issue 23 §1), then every benchmark's GPU rows, the figures most wanted first; the
# limits add up to 520 s, so the whole stays under 9 minutes with the start-up and the wheels.
suite 95
run 65 engine_overhead benchmarks/engine_overhead.py --epochs 10 --repeats 2
run 55 zoo_eager benchmarks/zoo_throughput.py --models resnet50 vit_b_16 vgg16 mobilenet_v1 resnet20 --skip-cpu \
    --no-compile
run 80 zoo_compiled benchmarks/zoo_throughput.py --models vit_b_16 resnet20 resnet50 --skip-cpu --compiled-only
run 35 gan_throughput benchmarks/gan_throughput.py --images 8192 --epochs 5 --skip-fcd
run 25 ssl_throughput benchmarks/ssl_throughput.py --datasets digits --epochs 5 --repeats 1 --workers 0 4
run 25 style_transfer benchmarks/style_transfer.py --sizes 256 512 --iterations 10 5 --rounds 2
run 25 autoencoders benchmarks/autoencoders.py --epochs 10 --repeats 3 --skip-sweep
run 15 augmentation benchmarks/augmentation_throughput.py --repeats 20
run 25 image_streaming benchmarks/image_streaming.py --images 1500 --rounds 3 --workers 8 --batch 128 --memory-images ""
run 30 image_to_image benchmarks/image_to_image.py --images 64 --unet-images 128 --epochs 3 --rounds 1
run 20 attribution benchmarks/attribution.py --gradcam-images 64 --ig-images 16 --batch 32 --rounds 2
run 25 language_models benchmarks/language_models.py --documents 24 --rounds 2
