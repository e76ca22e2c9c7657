"""Conv-4 MAML on Omniglot-shaped tasks in PyTorch: the references `Meta.Benchmarks conv4` is compared with.

The network is Meta's ConvNet (Meta.Runtime/Functional/ConvNet.cs): four blocks of [3 x 3 convolution with padding 1
and no bias, batch norm with the batch's own statistics (no running averages) and an adapted scale and shift, 2 x 2
max-pool, ReLU], then a linear head; 28 x 28 x 1 images, 64 filters, 5 ways, PyTorch's default initialisation.
5-way 1-shot with 1 query image per class, meta-batch 32, inner SGD at 0.4, cross-entropy, Adam (1e-3), float32.

Two ways to write MAML:

* loop: how learn2learn's and higher's users write it. One task at a time: the task's fast weights start as the
  meta-parameters, each inner step is torch.autograd.grad(loss, fast, create_graph=not first_order), and the task's
  query loss / T is back-propagated at once (its graph freed) before the next task; Adam steps after all tasks.
* batched: every task at once, as Meta computes it. The tasks' images [T, N, 1, 28, 28] become channels of one batch
  [N, T, 28, 28], each task's kernels one group of a grouped convolution (groups = T), batch norm over the T * 64
  channels is each task's own statistics, the head is one baddbmm; one autograd.grad call per inner step on the
  summed task losses.

Timing: warm-up iterations, then blocks of at least seconds / blocks each (at least one iteration); the rate is the
median of the blocks' rates. Peak RSS is the process's VmHWM (it includes Python's and PyTorch's baseline; in the
whole-table mode it is the peak so far, not per cell).

Usage:
  /usr/bin/python3 Meta.Benchmarks/reference/conv4_maml.py                    # the whole table, 1 thread
  /usr/bin/python3 Meta.Benchmarks/reference/conv4_maml.py --variant loop --steps 1 --threads 2 --json
  /usr/bin/python3 Meta.Benchmarks/reference/conv4_maml.py --check           # loop and batched agree (float64)
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

WAYS, SHOTS, SIDE, BLOCKS, ALPHA, EPSILON = 5, 1, 28, 4, 0.4, 1e-5


def init_theta(filters, generator):
    """Meta's slots in order: per block the kernel [F, C, 3, 3], gamma [F], beta [F]; then head [features, ways], bias."""
    def uniform(shape, fan_in):
        bound = 1 / math.sqrt(fan_in)
        return ((torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound).float()

    theta = []
    for b in range(BLOCKS):
        channels = 1 if b == 0 else filters
        theta += [uniform((filters, channels, 3, 3), channels * 9), torch.ones(filters), torch.zeros(filters)]
    side = SIDE
    for _ in range(BLOCKS):
        side //= 2
    features = filters * side * side
    theta += [uniform((features, WAYS), features), uniform((WAYS,), features)]
    return [p.requires_grad_() for p in theta]


# ------------------------------------------------------------------ one task at a time (learn2learn / higher style)

def forward_one(w, x):
    """Logits [N, ways] of one task: weights as Meta's slots, images [N, 1, 28, 28]."""
    h = x
    for b in range(BLOCKS):
        h = F.conv2d(h, w[3 * b], None, padding=1)
        h = F.batch_norm(h, None, None, w[3 * b + 1], w[3 * b + 2], training=True, eps=EPSILON)
        h = F.relu(F.max_pool2d(h, 2))
    return torch.addmm(w[-1], h.flatten(1), w[-2])


def meta_step_loop(theta, optimiser, episode, steps, first_order):
    sx, sy, qx, qy = episode
    tasks = sx.shape[0]
    optimiser.zero_grad()
    total = 0.0
    for t in range(tasks):
        fast = list(theta)
        for _ in range(steps):
            loss = F.cross_entropy(forward_one(fast, sx[t]), sy[t])
            grads = torch.autograd.grad(loss, fast, create_graph=not first_order)
            fast = [w - ALPHA * g for w, g in zip(fast, grads)]
        query = F.cross_entropy(forward_one(fast, qx[t]), qy[t]) / tasks
        query.backward()
        total += query.item()
    optimiser.step()
    return total


# ------------------------------------------------------------------ all tasks at once (grouped convolution)

def forward_batched(w, x):
    """Logits [T, N, ways] for fast weights (one [T, ...] tensor per slot) and images [T, N, 1, 28, 28]."""
    tasks, images = x.shape[0], x.shape[1]
    h = x.transpose(0, 1).reshape(images, tasks * x.shape[2], SIDE, SIDE)
    for b in range(BLOCKS):
        kernel = w[3 * b]
        h = F.conv2d(h, kernel.reshape(tasks * kernel.shape[1], *kernel.shape[2:]), None, padding=1, groups=tasks)
        h = F.batch_norm(h, None, None, w[3 * b + 1].reshape(-1), w[3 * b + 2].reshape(-1), training=True, eps=EPSILON)
        h = F.relu(F.max_pool2d(h, 2))
    features = h.reshape(images, tasks, -1).transpose(0, 1)
    return torch.baddbmm(w[-1].unsqueeze(1), features, w[-2])


def summed_loss(logits, y):
    """Sum over tasks of each task's mean cross-entropy."""
    t, n, c = logits.shape
    return F.cross_entropy(logits.reshape(t * n, c), y.reshape(t * n), reduction="sum") / n


def meta_step_batched(theta, optimiser, episode, steps, first_order):
    sx, sy, qx, qy = episode
    tasks = sx.shape[0]
    fast = [p.unsqueeze(0).expand(tasks, *p.shape) for p in theta]
    for _ in range(steps):
        grads = torch.autograd.grad(summed_loss(forward_batched(fast, sx), sy), fast, create_graph=not first_order)
        fast = [w - ALPHA * g for w, g in zip(fast, grads)]
    meta_loss = summed_loss(forward_batched(fast, qx), qy) / tasks
    optimiser.zero_grad()
    meta_loss.backward()
    optimiser.step()
    return meta_loss.item()


# ------------------------------------------------------------------ episodes and timing

class Episodes:
    """Random images in a pool of 50 classes x 20 drawings; each task draws 5 classes and 1 + queries drawings of each."""

    def __init__(self, tasks, queries, generator):
        self.pool = torch.randint(0, 256, (50, 20, 1, SIDE, SIDE), generator=generator).float() / 255
        self.tasks, self.queries, self.generator = tasks, queries, generator

    def draw(self):
        t, q, g = self.tasks, self.queries, self.generator
        classes = torch.stack([torch.randperm(50, generator=g)[:WAYS] for _ in range(t)])              # [T, N]
        drawings = torch.stack([torch.randperm(20, generator=g)[:SHOTS + q] for _ in range(t * WAYS)])  # [T·N, K + Q]
        images = self.pool[classes.reshape(-1, 1), drawings].reshape(t, WAYS, SHOTS + q, 1, SIDE, SIDE)
        labels = lambda k: torch.arange(WAYS).view(1, WAYS, 1).expand(t, WAYS, k).reshape(t, WAYS * k)
        return (images[:, :, :SHOTS].reshape(t, WAYS * SHOTS, 1, SIDE, SIDE), labels(SHOTS),
                images[:, :, SHOTS:].reshape(t, WAYS * q, 1, SIDE, SIDE), labels(q))


def peak_rss_mb():
    """VmHWM of this process (ru_maxrss would carry over the peak of the process that started this one)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(variant, steps, first_order, tasks, filters, queries, seconds, blocks, warmup):
    generator = torch.Generator().manual_seed(1)
    theta = init_theta(filters, generator)
    optimiser = torch.optim.Adam(theta, lr=1e-3)
    episodes = Episodes(tasks, queries, generator)
    step = meta_step_loop if variant == "loop" else meta_step_batched
    for _ in range(warmup):
        step(theta, optimiser, episodes.draw(), steps, first_order)
    rates = []
    for _ in range(blocks):
        start, n = time.perf_counter(), 0
        while n == 0 or time.perf_counter() - start < seconds / blocks:
            step(theta, optimiser, episodes.draw(), steps, first_order)
            n += 1
        rates.append(n / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2], rates


def check():
    """Both variants must compute the same meta-gradient: float64, 3 tasks, 16 filters, 2 inner steps, both orders."""
    torch.set_default_dtype(torch.float64)
    generator = torch.Generator().manual_seed(3)
    worst = 0.0
    for first_order in (False, True):
        theta = [p.detach().double().requires_grad_() for p in init_theta(16, generator)]
        sx, sy, qx, qy = Episodes(3, 2, generator).draw()
        episode = (sx.double(), sy, qx.double(), qy)
        gradients = []
        for step in (meta_step_loop, meta_step_batched):
            optimiser = torch.optim.SGD(theta, lr=0.0)
            step(theta, optimiser, episode, 2, first_order)
            gradients.append([p.grad.clone() for p in theta])
        for a, b in zip(*gradients):
            worst = max(worst, ((a - b).abs().max() / (a.abs().max() + 1e-12)).item())
    print(f"loop vs batched meta-gradients: largest relative difference {worst:.2e}")
    return 0 if worst < 1e-9 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=["loop", "batched"], help="one cell (default: the whole table)")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--first-order", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON line (what Meta.Benchmarks reads)")
    parser.add_argument("--check", action="store_true", help="check that both variants compute the same meta-gradient")
    args = parser.parse_args()
    if args.check:
        return check()
    torch.set_num_threads(args.threads)
    cells = ([(args.variant, args.steps, args.first_order)] if args.variant else
             [(v, s, fo) for s in (1, 5) for fo in (False, True) for v in ("loop", "batched")])
    if not args.json:
        print(f"PyTorch {torch.__version__}, threads {torch.get_num_threads()}")
        print("| variant | S | order | it/s | peak RSS (MB) |")
        print("|---|---:|---|---:|---:|")
    for variant, steps, first_order in cells:
        rate, rates = measure(variant, steps, first_order, args.tasks, args.filters, args.queries,
                              args.seconds, args.blocks, args.warmup)
        peak = peak_rss_mb()
        if args.json:
            print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "variant": variant,
                              "steps": steps, "first_order": first_order, "rate": rate, "block_rates": rates,
                              "peak_rss_mb": peak}), flush=True)
        else:
            print(f"| {variant} | {steps} | {'first' if first_order else 'second'} | {rate:.2f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
