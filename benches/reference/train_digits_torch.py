"""The train_digits recipe in PyTorch (CPU), for the side-by-side timing in BENCHMARKS.md.

Same data, split, model and recipe as examples/train_digits.rs.

    python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install torch
    /tmp/venv-ref/bin/python benches/reference/train_digits_torch.py [seed]
"""
import sys, time
import numpy as np
import torch

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
torch.manual_seed(seed)
rows = np.loadtxt("examples/data/digits.csv", delimiter=",", skiprows=1)
labels, pixels = rows[:, 0].astype(np.int64), (rows[:, 1:] / 16.0).astype(np.float32)
test = np.arange(len(rows)) % 5 == 4
xtr, ytr = torch.tensor(pixels[~test].reshape(-1, 1, 8, 8)), torch.tensor(labels[~test])
xte, yte = torch.tensor(pixels[test].reshape(-1, 1, 8, 8)), torch.tensor(labels[test])

model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(),
    torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(),
    torch.nn.Flatten(), torch.nn.Linear(256, 10),
)
for m in model:
    if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(m.weight)
        torch.nn.init.zeros_(m.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(60):
    order = torch.randperm(len(xtr))
    for i in range(0, len(order), 32):
        b = order[i:i + 32]
        opt.zero_grad()
        loss_fn(model(xtr[b]), ytr[b]).backward()
        opt.step()
seconds = time.perf_counter() - start
with torch.no_grad():
    acc = (model(xte).argmax(1) == yte).float().mean().item()
print(f"torch: 60 epochs in {seconds:.2f} s, test accuracy {100 * acc:.1f}%")
