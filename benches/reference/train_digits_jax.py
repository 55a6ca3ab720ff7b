"""The train_digits recipe in JAX (jit), for the side-by-side timing in BENCHMARKS.md.

Same data and split (every fifth row of examples/data/digits.csv is a test digit), same model
(conv3x3(1->8) ReLU conv3x3(8->16) ReLU dense(256->10), softmax cross-entropy), He init,
SGD with momentum 0.9, lr 0.02, batch 32, 60 epochs.

    python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install "jax[cpu]"
    /tmp/venv-ref/bin/python benches/reference/train_digits_jax.py [seed]
"""
import sys, time
import numpy as np
import jax, jax.numpy as jnp

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
rows = np.loadtxt("examples/data/digits.csv", delimiter=",", skiprows=1)
labels, pixels = rows[:, 0].astype(np.int32), (rows[:, 1:] / 16.0).astype(np.float32)
test = np.arange(len(rows)) % 5 == 4
xtr, ytr = pixels[~test].reshape(-1, 1, 8, 8), labels[~test]
xte, yte = pixels[test].reshape(-1, 1, 8, 8), labels[test]

key = jax.random.PRNGKey(seed)
k1, k2, k3 = jax.random.split(key, 3)
params = {
    "w1": jax.random.normal(k1, (8, 1, 3, 3)) * np.sqrt(2 / 9), "b1": jnp.zeros(8),
    "w2": jax.random.normal(k2, (16, 8, 3, 3)) * np.sqrt(2 / 72), "b2": jnp.zeros(16),
    "w3": jax.random.normal(k3, (10, 256)) * np.sqrt(2 / 256), "b3": jnp.zeros(10),
}

def logits(p, x):
    dn = ("NCHW", "OIHW", "NCHW")
    h = jax.lax.conv_general_dilated(x, p["w1"], (1, 1), "VALID", dimension_numbers=dn)
    h = jax.nn.relu(h + p["b1"][None, :, None, None])
    h = jax.lax.conv_general_dilated(h, p["w2"], (1, 1), "VALID", dimension_numbers=dn)
    h = jax.nn.relu(h + p["b2"][None, :, None, None])
    return h.reshape(h.shape[0], -1) @ p["w3"].T + p["b3"]

def loss(p, x, y):
    z = logits(p, x)
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - z[jnp.arange(len(y)), y])

@jax.jit
def step(p, v, x, y):
    g = jax.grad(loss)(p, x, y)
    v = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, v, g)
    p = jax.tree_util.tree_map(lambda p, v: p - 0.02 * v, p, v)
    return p, v

velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
rng = np.random.default_rng(seed)
start = time.perf_counter()
for epoch in range(60):
    order = rng.permutation(len(xtr))
    for i in range(0, len(order), 32):
        b = order[i:i + 32]
        params, velocity = step(params, velocity, xtr[b], ytr[b])
jax.block_until_ready(params)
seconds = time.perf_counter() - start
acc = float(jnp.mean(jnp.argmax(logits(params, xte), axis=1) == yte))
print(f"jax: 60 epochs in {seconds:.2f} s, test accuracy {100 * acc:.1f}%")
