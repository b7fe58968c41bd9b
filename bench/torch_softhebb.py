#!/usr/bin/python3
"""PyTorch twin of scripts/softhebb_cifar10.sh: SoftHebb's protocol on
CIFAR-10 (Journe et al., ICLR 2023) on the CPU, written from the paper's and
the reference code's settings, timed per phase like `train` prints them.

  hebbian phase  one epoch at batch 10; each conv learns with SoftHebb's rule
                 (y = softmax(t u) over channels, the winner's sign kept, the
                 others' flipped; dW = y x - (y u) w, divided by max|dW|; rate
                 lr_k |(|w_k| - 1)|^0.5) on its own input, all layers in one pass
  features       the frozen blocks' output for the training and test sets, float16
  backprop phase a linear classifier (dropout 0.5) on the cached features, Adam 1e-3,
                 batch 64, halved at epochs 10, 17, 25, 30, 35, 40, 45 (of 50)

Prints "time: ... s" lines, the test accuracy and the peak RSS.
Benchmark only: run with /usr/bin/python3 (Debian's python3-torch).
Usage: torch_softhebb.py DATA_DIR [--limit-train N] [--limit-test N] [--epochs N] [--threads T] [--seed S]
"""
import argparse
import math
import os
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

BLOCKS = [  # in, out, kernel, inverse temperature, lr, triangle power, pool
    (3, 96, 5, 1.0, 0.08, 0.7, "max"),
    (96, 384, 3, 0.65, 0.005, 1.4, "max"),
    (384, 1536, 3, 0.25, 0.01, 1.0, "avg"),
]
MILESTONES = (0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9)


def load_cifar(folder, train, limit):
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    raw = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    if limit:
        raw = raw[:limit]
    x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(raw[:, 0].astype(np.int64))


class Block(torch.nn.Module):
    def __init__(self, cin, cout, k, t, lr, power, pool):
        super().__init__()
        self.bn = torch.nn.BatchNorm2d(cin, affine=False)
        self.weight = torch.nn.Parameter(torch.randn(cout, cin, k, k) * (25 / math.sqrt(cin * k * k)),
                                         requires_grad=False)
        self.pad, self.t, self.lr, self.power, self.pool = k // 2, t, lr, power, pool

    def forward(self, x, learn):
        x = F.pad(self.bn(x), (self.pad,) * 4, mode="reflect")
        u = F.conv2d(x, self.weight)
        if learn:
            self.learn(x, u)
        y = F.relu(u - u.mean(dim=1, keepdim=True)) ** self.power
        return F.max_pool2d(y, 4, 2, 1) if self.pool == "max" else F.avg_pool2d(y, 2, 2)

    def learn(self, x, u):
        k = u.shape[1]
        flat = u.transpose(0, 1).reshape(k, -1)
        y = torch.softmax(self.t * flat, dim=0)
        sign = -torch.ones_like(y)
        sign[flat.argmax(dim=0), torch.arange(flat.shape[1])] = 1
        y = (y * sign).view(k, u.shape[0], u.shape[2], u.shape[3]).transpose(0, 1)
        yx = F.conv2d(x.transpose(0, 1), y.transpose(0, 1)).transpose(0, 1)
        yu = (y * u).sum(dim=(0, 2, 3))
        delta = yx - yu.view(-1, 1, 1, 1) * self.weight
        delta /= delta.abs().amax() + 1e-30
        norm = self.weight.view(k, -1).norm(dim=1)
        rate = self.lr * (torch.abs(norm - 1) + 1e-10) ** 0.5
        self.weight += rate.view(-1, 1, 1, 1) * delta


def features(blocks, x, batch):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            h = x[i:i + batch]
            for b in blocks:
                h = b(h, False)
            out.append(h.flatten(1).half())
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    folder = os.path.join(a.data_dir, "cifar-10-batches-bin")
    xtr, ytr = load_cifar(folder, True, a.limit_train)
    xte, yte = load_cifar(folder, False, a.limit_test)
    blocks = torch.nn.ModuleList(Block(*b) for b in BLOCKS)

    t0 = time.time()
    blocks.train()
    with torch.no_grad():
        for idx in torch.randperm(len(xtr)).split(10):
            h = xtr[idx]
            for b in blocks:
                h = b(h, True)
    print(f"time: hebbian phase {time.time() - t0:.1f} s")

    t0 = time.time()
    blocks.eval()
    ftr, fte = features(blocks, xtr, 64), features(blocks, xte, 64)
    print(f"time: features {time.time() - t0:.1f} s")

    t0 = time.time()
    fc = torch.nn.Linear(ftr.shape[1], 10)
    with torch.no_grad():
        fc.weight.copy_(0.11048543456039805 * torch.rand(10, ftr.shape[1]))
    opt = torch.optim.Adam(fc.parameters(), lr=1e-3)
    steps = {int(a.epochs * r) for r in MILESTONES}
    for epoch in range(a.epochs):
        if epoch in steps:
            for g in opt.param_groups:
                g["lr"] *= 0.5
        for idx in torch.randperm(len(ftr)).split(64):
            loss = F.cross_entropy(fc(F.dropout(ftr[idx].float(), 0.5, True)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    print(f"time: backprop phase {time.time() - t0:.1f} s")
    with torch.no_grad():
        acc = (fc(fte.float()).argmax(1) == yte).float().mean().item()
    print(f"test {100 * acc:.2f}%")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
