#!/usr/bin/env bash
# Times the train_mnist recipe alternately: the example (2 threads), PyTorch (2 threads) and
# JAX (jit), round after round, with the load average before each run and each run's peak RSS.
#
#   cargo build --release --example train_mnist
#   bash benches/reference/time_mnist.sh [rounds] [python]    # from the repository's root
#
# `python` is an interpreter with numpy, torch and jax installed (default: /work/venv/bin/python).
# The example's time is its own "trained 20 epochs in X s" (test set evaluated after each
# epoch, as the scripts do); the scripts' are their training loops (after their imports and
# data loading), each also evaluating the test set after every epoch.
set -u
rounds=${1:-3}
py=${2:-/work/venv/bin/python}
bin=${CARGO_TARGET_DIR:-target}/release/examples/train_mnist
run() { # name, command...
    local name=$1
    shift
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    local out
    out=$( { /usr/bin/time -f "rss_kb %M" "$@" 2>&1; } | grep -E "trained|torch:|jax:|rss_kb" | tr '\n' ' ')
    local secs
    secs=$(echo "$out" | grep -oE "in [0-9.]+ s" | head -1 | grep -oE "[0-9.]+")
    local rss
    rss=$(echo "$out" | grep -oE "rss_kb [0-9]+" | grep -oE "[0-9]+")
    printf "%-8s load %5s  %8s s  peak RSS %6d MB\n" "$name" "$load" "$secs" "$((rss / 1024))"
}
for r in $(seq "$rounds"); do
    echo "round $r"
    run autodiff "$bin" --threads 2 --out /tmp/time_mnist
    run torch "$py" benches/reference/train_mnist_torch.py 0 20 2
    run jax "$py" benches/reference/train_mnist_jax.py 0 20
done
