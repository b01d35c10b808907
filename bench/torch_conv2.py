"""PyTorch reference for `npm run bench`: training images/s of the paper's
Conv-2 (conv 64,64 3x3 same + ReLU, max-pool 2, dense 256,256,10 on
32x32x3) with Adam, on the CPU, timed the way bench/suite.ts times tfjs:
warm-up steps, then repeats that each last at least MIN_REPEAT_SECONDS.

    python3 bench/torch_conv2.py --batches 64 60 --threads 1 2 --repeats 7

Each batch is timed at each intra-op thread count, so that tfjs's wasm
backend (one thread in Node, one per core in a cross-origin-isolated page)
is compared with PyTorch on as many threads. Prints one JSON object on stdout.
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn

MIN_REPEAT_SECONDS = 0.25
NUM_CLASSES = 10


def conv2() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 16 * 64, 256),
        nn.ReLU(),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, NUM_CLASSES),
    )


def images_per_second(batch: int, threads: int, repeats: int, max_seconds: float) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = conv2()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, NUM_CLASSES, (batch,))

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    for _ in range(2):
        step()
    started = time.perf_counter()
    step()
    steps = max(1, round(MIN_REPEAT_SECONDS / (time.perf_counter() - started) + 0.5))
    rates = []
    started = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - t0))
        if time.perf_counter() - started > max_seconds:
            break
    return {
        "batch": batch,
        "threads": torch.get_num_threads(),
        "imagesPerSecond": {
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "samples": len(rates),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 60])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=40)
    args = parser.parse_args()
    results = [images_per_second(b, t, args.repeats, args.max_seconds) for b in args.batches for t in args.threads]
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
