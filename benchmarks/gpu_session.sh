#!/usr/bin/env bash
# The GPU rows of benchmarks/RESULTS.md in one prepared call on a lent GPU machine (issues 2, 4, 5, 6, 9).
#
# Run from the repository root there:  bash benchmarks/gpu_session.sh
# It uses that machine's own python3 (PyTorch, torchvision, PyG, Lightning and timm are installed there)
# with PYTHONPATH=src instead of installing deepzoo, and gives every benchmark its own time limit so the
# whole stays inside one 10-minute call; the figures most wanted come first. One log per benchmark goes
# to $OUT (the device tool's folder that comes back) or ./gpu_logs, with the machine in machine.txt.
# DEVICE=cpu LIMIT_SCALE=0.1 PYTHON=.venv/bin/python give a quick dry run of the script itself on a CPU.
set -u
out="${OUT:-gpu_logs}"
device="${DEVICE:-cuda}"
scale="${LIMIT_SCALE:-1}"
py="${PYTHON:-python3}"
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$out/machine.txt"

run() {  # run LIMIT_S NAME SCRIPT ARGS...: one benchmark under its own limit, its log kept whatever happens
    local limit name
    limit=$(python3 -c "print(max(5, int($1 * $scale)))")
    name=$2
    shift 2
    echo "== $name (limit ${limit} s)"
    timeout "$limit" "$py" "$@" --device "$device" > "$out/$name.log" 2>&1
    echo "exit status $?" >> "$out/$name.log"
    tail -n 20 "$out/$name.log"
}

run 90 engine_overhead benchmarks/engine_overhead.py --epochs 10 --repeats 3
run 200 zoo_resnet50_vit benchmarks/zoo_throughput.py --models resnet50 vit_b_16 --skip-cpu
run 130 zoo_others benchmarks/zoo_throughput.py --models mobilenet_v1 vgg16 resnet20 --skip-cpu
run 60 gan_throughput benchmarks/gan_throughput.py --images 8192 --epochs 5 --skip-fcd
run 50 style_transfer benchmarks/style_transfer.py --sizes 256 512 --iterations 10 5 --rounds 2
run 40 autoencoders benchmarks/autoencoders.py --epochs 10 --repeats 3 --skip-sweep
