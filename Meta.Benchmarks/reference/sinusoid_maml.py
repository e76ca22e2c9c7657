"""Task-batched MAML on sinusoids in PyTorch: the reference Meta.Benchmarks is compared with.

Same configuration as the C# benchmark: 25 tasks, K = 10 support and 10 query points, 1-40-40-1 ReLU MLP, float32,
one thread, Adam (1e-3), inner SGD at 0.01; every layer is one baddbmm over all tasks, the inner gradient one
autograd.grad call on the summed task losses (create_graph for second order). Prints meta-iterations/s, the median
of 5 blocks after 300 warm-up iterations, in the C# benchmark's table format.

Usage: /usr/bin/python3 Meta.Benchmarks/reference/sinusoid_maml.py [--iterations 1000]
"""
import argparse
import math
import resource
import time

import torch

CONFIGURATIONS = [
    ("standard: 25 tasks, K = 10, S = 1, second order", 25, 10, 1, False),
    ("25 tasks, K = 10, S = 5, second order", 25, 10, 5, False),
    ("25 tasks, K = 10, S = 1, first order", 25, 10, 1, True),
    ("25 tasks, K = 10, S = 5, first order", 25, 10, 5, True),
]
WIDTHS = [1, 40, 40, 1]


def init_theta(generator):
    params = []
    for fan_in, fan_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        w = torch.randn(fan_in, fan_out, generator=generator).clamp_(-2, 2) * 0.01
        params += [w.requires_grad_(), torch.zeros(fan_out, requires_grad=True)]
    return params


def forward(weights, x):
    h = x
    for i in range(0, len(weights), 2):
        h = torch.baddbmm(weights[i + 1].unsqueeze(1), h, weights[i])
        if i + 2 < len(weights):
            h = torch.relu(h)
    return h


def summed_loss(weights, x, y):
    return ((forward(weights, x) - y) ** 2).mean(dim=(1, 2)).sum()


def episode(tasks, shots, generator):
    amplitude = torch.rand(tasks, 1, 1, generator=generator) * 4.9 + 0.1
    phase = torch.rand(tasks, 1, 1, generator=generator) * math.pi
    x = torch.rand(tasks, 2 * shots, 1, generator=generator) * 10 - 5
    y = amplitude * torch.sin(x - phase)
    return x[:, :shots], y[:, :shots], x[:, shots:], y[:, shots:]


def meta_step(theta, optimiser, tasks, shots, steps, first_order, generator):
    sx, sy, qx, qy = episode(tasks, shots, generator)
    fast = [p.unsqueeze(0).expand(tasks, *p.shape) for p in theta]
    for _ in range(steps):
        grads = torch.autograd.grad(summed_loss(fast, sx, sy), fast, create_graph=not first_order)
        fast = [w - 0.01 * g for w, g in zip(fast, grads)]
    meta_loss = summed_loss(fast, qx, qy) / tasks
    optimiser.zero_grad()
    meta_loss.backward()
    optimiser.step()
    return meta_loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"PyTorch {torch.__version__}, threads {torch.get_num_threads()}")
    print("| configuration | PyTorch task-batched it/s | peak RSS (MB) |")
    print("|---|---:|---:|")
    for name, tasks, shots, steps, first_order in CONFIGURATIONS:
        generator = torch.Generator().manual_seed(1)
        theta = init_theta(generator)
        optimiser = torch.optim.Adam(theta, lr=1e-3)
        for _ in range(300):
            meta_step(theta, optimiser, tasks, shots, steps, first_order, generator)
        rates = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(args.iterations):
                meta_step(theta, optimiser, tasks, shots, steps, first_order, generator)
            rates.append(args.iterations / (time.perf_counter() - start))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {name} | {sorted(rates)[2]:.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
