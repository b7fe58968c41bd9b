#!/usr/bin/python3
"""PyTorch twin of bench/bench_net.c: the seeds' 6-layer network at batch 64
on random data, timed the same three ways with the same protocol, printing
the same lines.

  forward_eval   model in evaluation mode under torch.no_grad();
  sgd_step       forward, backward, SGD (Nesterov 0.9, weight decay), zero_grad;
  hebbian_step   every layer's input detached, loss_l = -mean(sg(relu(u_l)) * u_l)
                 per layer, cross-entropy on fc6, summed, one backward, one step.

Benchmark only: run with /usr/bin/python3 (Debian's python3-torch).
Usage: torch_net.py [--steps N] [--warmup N] [--batch B] [--threads T]
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F

CONV = [(3, 96, 5, True), (96, 128, 3, False), (128, 192, 3, True), (192, 256, 3, False)]
FC5_IN, FC5_OUT, CLASSES, IMG = 2304, 4096, 10, 32
LR, MOMENTUM, WEIGHT_DECAY = 1e-3, 0.9, 5e-2
BN_MOMENTUM, BN_EPS, DROPOUT_P = 0.1, 1e-5, 0.5
MODES = ["forward_eval", "sgd_step", "hebbian_step"]


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(c, k, kk) for c, k, kk, _ in CONV)
        self.fc5 = torch.nn.Linear(FC5_IN, FC5_OUT)
        self.fc6 = torch.nn.Linear(FC5_OUT, CLASSES)
        self.bns = torch.nn.ModuleList(
            [torch.nn.BatchNorm2d(k, eps=BN_EPS, momentum=BN_MOMENTUM) for _, k, _, _ in CONV]
            + [torch.nn.BatchNorm1d(FC5_OUT, eps=BN_EPS, momentum=BN_MOMENTUM)])
        # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, as bench_net.
        for layer in list(self.convs) + [self.fc5, self.fc6]:
            bound = 1.0 / math.sqrt(layer.weight[0].numel())
            torch.nn.init.uniform_(layer.weight, -bound, bound)
            torch.nn.init.uniform_(layer.bias, -bound, bound)

    def forward(self, x, labels=None, hebbian=False):
        loss = None
        layers = list(self.convs) + [self.fc5]
        for l, layer in enumerate(layers):
            if hebbian:
                x = x.detach()
            if l == len(CONV):
                x = torch.flatten(x, 1)
            u = layer(x)
            y = F.relu(u)
            if hebbian:
                local = -(y.detach() * u).mean()
                loss = local if loss is None else loss + local
            if l < len(CONV) and CONV[l][3]:
                y = F.max_pool2d(y, 2, 2)
            x = self.bns[l](y)
        x = F.dropout(x, DROPOUT_P, self.training)
        if hebbian:
            x = x.detach()
        logits = self.fc6(x)
        if labels is None:
            return logits
        ce = F.cross_entropy(logits, labels)
        return ce if loss is None else loss + ce


def flops_per_image():
    fwd, hw = [], IMG
    for c, k, kk, pool in CONV:
        o = hw - kk + 1
        fwd.append(2.0 * k * o * o * c * kk * kk)
        hw = o // 2 if pool else o
    fwd += [2.0 * FC5_IN * FC5_OUT, 2.0 * FC5_OUT * CLASSES]
    total = sum(fwd)
    # SGD: + backward-weights of all + backward-data of all but conv1;
    # Hebbian: + backward-weights only.
    return {"forward_eval": total, "sgd_step": 3 * total - fwd[0], "hebbian_step": 2 * total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True,
                          weight_decay=WEIGHT_DECAY)
    # A fresh random batch for every step (filled in place, outside the timer):
    # a network fed one batch over and over memorises it, its gradients decay
    # into denormals and the timings measure that instead.
    x = torch.empty(a.batch, 3, IMG, IMG)
    labels = torch.empty(a.batch, dtype=torch.long)

    def fill_batch():
        x.normal_()
        labels.random_(0, CLASSES)
    fl = flops_per_image()
    nparam = sum(p.numel() for p in net.parameters())

    print(f"pytorch torch_net: seeds' network, batch {a.batch}, 3x{IMG}x{IMG} -> {CLASSES} "
          f"classes, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"params {nparam / 1e6:.2f}M; MFLOP/image: forward {fl['forward_eval'] / 1e6:.1f}, "
          f"sgd step {fl['sgd_step'] / 1e6:.1f}, hebbian step {fl['hebbian_step'] / 1e6:.1f}; "
          f"{a.warmup} warm-up + {a.steps} timed steps each")
    print(f"{'measurement':<14} {'ms/step':>10} {'img/s(med)':>11} {'img/s(best)':>12} "
          f"{'GFLOP/s':>9} {'allocs/step':>12}")

    def step(mode):
        if mode == "forward_eval":
            net.eval()
            with torch.no_grad():
                net(x)
            return 0.0
        net.train()
        loss = net(x, labels, hebbian=(mode == "hebbian_step"))
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.item()

    last = {}
    for mode in MODES:
        for _ in range(a.warmup):
            fill_batch()
            step(mode)
        t = []
        for _ in range(a.steps):
            fill_batch()
            t0 = time.perf_counter()
            last[mode] = step(mode)
            t.append(time.perf_counter() - t0)
        t.sort()
        n = len(t)
        med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
        print(f"{mode:<14} {1e3 * med:10.2f} {a.batch / med:11.1f} {a.batch / t[0]:12.1f} "
              f"{fl[mode] * a.batch / med / 1e9:9.1f} {'-':>12}", flush=True)
    print(f"last loss: sgd {last['sgd_step']:.4f}, hebbian {last['hebbian_step']:.4f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
