"""The train_mnist recipe in JAX (jit), for the side-by-side timing in BENCHMARKS.md.

Same data and split (examples/data/mnist10k/: the first 8,000 digits train, the last 2,000
test), same model (LeNet-5: conv5x5(1->6) ReLU maxpool2, conv5x5(6->16) ReLU maxpool2,
dense 256->120 ReLU, 120->84 ReLU, 84->10, softmax cross-entropy), He normal init (normal
deviates of standard deviation sqrt(2 / fan_in)), zero biases, SGD with momentum 0.9, lr 0.02,
batch 64, 20 epochs, pixels / 255, a new shuffle every epoch; the test accuracy after every
epoch, as the example. The whole step (gradient and update) is one jitted function; the last
batch of an epoch is full (8,000 = 125 x 64), so it compiles once.

    python3 -m venv /work/venv && /work/venv/bin/pip install numpy "jax[cpu]"
    /work/venv/bin/python benches/reference/train_mnist_jax.py [seed] [epochs]
"""
import gzip, sys, time
import numpy as np
import jax, jax.numpy as jnp

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 20


def idx(path, magic):
    raw = gzip.open(path).read()
    assert int.from_bytes(raw[:4], "big") == magic, path
    ndims = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(ndims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndims).reshape(dims)


d = "examples/data/mnist10k/"
images = idx(d + "mnist10k-images-idx3-ubyte.gz", 0x803).astype(np.float32) / 255.0
labels = idx(d + "mnist10k-labels-idx1-ubyte.gz", 0x801).astype(np.int32)
x = images.reshape(-1, 1, 28, 28)
xtr, ytr, xte, yte = x[:8000], labels[:8000], x[8000:], labels[8000:]

key = jax.random.PRNGKey(seed)
k = jax.random.split(key, 5)
shapes = [("w1", (6, 1, 5, 5), 25), ("w2", (16, 6, 5, 5), 150), ("w3", (120, 256), 256),
          ("w4", (84, 120), 120), ("w5", (10, 84), 84)]
params = {}
for (name, shape, fan_in), kk in zip(shapes, k):
    params[name] = jax.random.normal(kk, shape) * np.sqrt(2 / fan_in)
    params["b" + name[1:]] = jnp.zeros(shape[0])


def pool(h):
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def logits(p, x):
    dn = ("NCHW", "OIHW", "NCHW")
    h = jax.lax.conv_general_dilated(x, p["w1"], (1, 1), "VALID", dimension_numbers=dn)
    h = pool(jax.nn.relu(h + p["b1"][None, :, None, None]))
    h = jax.lax.conv_general_dilated(h, p["w2"], (1, 1), "VALID", dimension_numbers=dn)
    h = pool(jax.nn.relu(h + p["b2"][None, :, None, None]))
    h = h.reshape(h.shape[0], -1)
    h = jax.nn.relu(h @ p["w3"].T + p["b3"])
    h = jax.nn.relu(h @ p["w4"].T + p["b4"])
    return h @ p["w5"].T + p["b5"]


def loss(p, x, y):
    z = logits(p, x)
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - z[jnp.arange(len(y)), y])


@jax.jit
def step(p, v, x, y):
    l, g = jax.value_and_grad(loss)(p, x, y)
    v = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, v, g)
    p = jax.tree_util.tree_map(lambda p, v: p - 0.02 * v, p, v)
    return p, v, l


predict = jax.jit(lambda p, x: jnp.argmax(logits(p, x), axis=1))
velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
rng = np.random.default_rng(seed)
start = time.perf_counter()
for epoch in range(epochs):
    order = rng.permutation(len(xtr))
    total = 0.0
    for i in range(0, len(order), 64):
        b = order[i:i + 64]
        params, velocity, l = step(params, velocity, xtr[b], ytr[b])
        total += float(l) * len(b)
    acc = float(jnp.mean(predict(params, xte) == yte))
    print(f"epoch {epoch + 1}: loss {total / len(xtr):.4f}, test accuracy {100 * acc:.2f}%")
seconds = time.perf_counter() - start
print(f"jax: {epochs} epochs in {seconds:.2f} s, test accuracy {100 * acc:.2f}%")
