"""The train_mnist recipe in PyTorch (CPU), for the side-by-side timing in BENCHMARKS.md.

Same data and split (examples/data/mnist10k/: the first 8,000 digits train, the last 2,000
test), same model (LeNet-5: conv5x5(1->6) ReLU maxpool2, conv5x5(6->16) ReLU maxpool2,
dense 256->120 ReLU, 120->84 ReLU, 84->10, softmax cross-entropy), He normal init
(kaiming_normal_, fan_in), zero biases, SGD with momentum 0.9, lr 0.02, batch 64, 20 epochs,
pixels / 255, a new shuffle every epoch; the test accuracy after every epoch, as the example.

    python3 -m venv /work/venv && /work/venv/bin/pip install numpy torch
    /work/venv/bin/python benches/reference/train_mnist_torch.py [seed] [epochs] [threads]
"""
import gzip, sys, time
import numpy as np
import torch

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
torch.manual_seed(seed)


def idx(path, magic):
    raw = gzip.open(path).read()
    assert int.from_bytes(raw[:4], "big") == magic, path
    ndims = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(ndims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndims).reshape(dims)


d = "examples/data/mnist10k/"
images = idx(d + "mnist10k-images-idx3-ubyte.gz", 0x803).astype(np.float32) / 255.0
labels = idx(d + "mnist10k-labels-idx1-ubyte.gz", 0x801).astype(np.int64)
x = torch.tensor(images.reshape(-1, 1, 28, 28))
y = torch.tensor(labels)
xtr, ytr, xte, yte = x[:8000], y[:8000], x[8000:], y[8000:]

model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(),
    torch.nn.Linear(256, 120), torch.nn.ReLU(),
    torch.nn.Linear(120, 84), torch.nn.ReLU(),
    torch.nn.Linear(84, 10),
)
for m in model:
    if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(m.weight)
        torch.nn.init.zeros_(m.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(epochs):
    order = torch.randperm(len(xtr))
    total = 0.0
    for i in range(0, len(order), 64):
        b = order[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {epoch + 1}: loss {total / len(xtr):.4f}, test accuracy {100 * acc:.2f}%")
seconds = time.perf_counter() - start
print(f"torch: {epochs} epochs in {seconds:.2f} s, test accuracy {100 * acc:.2f}%")
