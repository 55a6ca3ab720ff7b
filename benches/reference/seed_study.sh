#!/usr/bin/env bash
# Test accuracy of the train_digits recipe over many seeds, ours and JAX's side by side
# (BENCHMARKS.md, "Accuracy over seeds"). Needs the JAX venv of train_digits_jax.py.
#   bash benches/reference/seed_study.sh [seeds=30]
set -euo pipefail
n=${1:-30}
py=${PYTHON:-/tmp/venv-ref/bin/python}
cargo build --release --example train_digits
out=$(mktemp -d)
for s in $(seq 0 $((n - 1))); do
  ours=$(target/release/examples/train_digits --seed "$s" --out "$out" | sed -n 's/^test accuracy: \(.*\)%$/\1/p')
  jax=$("$py" benches/reference/train_digits_jax.py "$s" | sed -n 's/.*test accuracy \(.*\)%$/\1/p')
  echo "$s $ours $jax"
done | awk '{ print; o += $2; j += $3; if ($2 < 97) bo++; if ($3 < 97) bj++; n++ }
  END { printf "mean: ours %.2f%%, jax %.2f%%; seeds below 97%%: ours %d, jax %d of %d\n", o / n, j / n, bo, bj, n }'
