"""PyTorch reference for `npm run bench`: training images/s of every bench
network on the CPU, timed the way bench/suite.ts times tfjs: warm-up steps,
then repeats that each last at least MIN_REPEAT_SECONDS.

    python3 bench/torch_reference.py --threads 1 2 --repeats 7 \
        --case '{"name": "conv-2 w1", "batch": 64, "optimizer": "adam", "layers": [...]}' ...

A case names its network as the lab builds it (bench/run.ts writes the layer
list from the engine's model registry, so the two never disagree): a list of
{"type": "conv", "filters": F, "batchNorm": bool} (3x3 'same', stride 1, then
BatchNorm without a conv bias, or a bias, then ReLU), {"type": "maxPool"}
(2x2, stride 2), {"type": "flatten"} and {"type": "dense", "units": U,
"relu": bool}, on 32x32x3 images and 10 classes. The optimiser is the lab's:
Adam, or SGD with momentum 0.9; the learning rate does not change the cost.

Each case is timed at each intra-op thread count, so that tfjs's wasm
backend is compared with PyTorch on as many threads. Prints one JSON object
on stdout.

    python3 bench/torch_reference.py --serve

keeps one process for the paired comparison (bench/paired.ts): it prints
{"torch": VERSION} once, then answers every JSON line on stdin,
{"case": {...}, "threads": T, "steps": N}, with one JSON line
{"steps": N, "seconds": WALL, "cpuSeconds": CPU} for N training steps of
that case on T threads (N = 0 builds and warms the case up only). Models,
optimisers and batches stay alive between commands, so a round costs no
import or set-up; an error answers {"error": MESSAGE} and the process goes on.
"""

import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn

MIN_REPEAT_SECONDS = 0.25
NUM_CLASSES = 10
IMAGE = (3, 32, 32)


def network(layers: list) -> nn.Module:
    modules = []
    channels = IMAGE[0]
    side = IMAGE[1]
    features = None
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            batch_norm = bool(layer["batchNorm"])
            modules.append(nn.Conv2d(channels, layer["filters"], 3, padding=1, bias=not batch_norm))
            if batch_norm:
                # The lab's BatchNorm: PyTorch's momentum and epsilon.
                modules.append(nn.BatchNorm2d(layer["filters"], eps=1e-5, momentum=0.1))
            modules.append(nn.ReLU())
            channels = layer["filters"]
        elif kind == "maxPool":
            modules.append(nn.MaxPool2d(2))
            side //= 2
        elif kind == "flatten":
            modules.append(nn.Flatten())
            features = channels * side * side
        elif kind == "dense":
            if features is None:
                raise ValueError("a dense layer needs a flatten layer before it")
            modules.append(nn.Linear(features, layer["units"]))
            if layer["relu"]:
                modules.append(nn.ReLU())
            features = layer["units"]
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    return nn.Sequential(*modules)


def optimizer_for(name: str, parameters) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(parameters, lr=2e-4)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=0.01, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}")


def warm_stepper(case: dict):
    """One training step of `case` on a seeded model and batch, as a function, after two warm-up steps."""
    torch.manual_seed(0)
    batch = case["batch"]
    model = network(case["layers"])
    model.train()
    optimizer = optimizer_for(case["optimizer"], model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *IMAGE)
    y = torch.randint(0, NUM_CLASSES, (batch,))

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    for _ in range(2):
        step()
    return step


def images_per_second(case: dict, threads: int, repeats: int, max_seconds: float) -> dict:
    torch.set_num_threads(threads)
    batch = case["batch"]
    step = warm_stepper(case)
    started = time.perf_counter()
    step()
    steps = max(1, round(MIN_REPEAT_SECONDS / (time.perf_counter() - started) + 0.5))
    rates = []
    cpu_rates = []
    started = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - t0))
        cpu_rates.append(steps * batch / max(time.process_time() - cpu0, 1e-9))
        if time.perf_counter() - started > max_seconds:
            break
    return {
        "name": case["name"],
        "batch": batch,
        "optimizer": case["optimizer"],
        "threads": torch.get_num_threads(),
        "imagesPerSecond": {
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "samples": len(rates),
        },
        # Images per CPU-second of this process, all threads: on a loaded
        # machine it moves less than the wall-clock rate (spinning OpenMP
        # threads count too, so at 2 threads it is a lower bound).
        "cpuImagesPerSecond": {
            "median": statistics.median(cpu_rates),
            "min": min(cpu_rates),
            "max": max(cpu_rates),
            "samples": len(cpu_rates),
        },
    }


def serve() -> None:
    """The --serve loop: timed rounds of training steps on request (see the module's docstring)."""
    steppers = {}
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            case, threads, steps = command["case"], int(command["threads"]), int(command["steps"])
            torch.set_num_threads(threads)
            key = (json.dumps(case, sort_keys=True), threads)
            if key not in steppers:
                steppers[key] = warm_stepper(case)
            step = steppers[key]
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            for _ in range(steps):
                step()
            answer = {"steps": steps, "seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - cpu0}
        except Exception as error:  # one bad command must not end the session
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help="answer timing commands on stdin (see the docstring)")
    parser.add_argument("--case", type=json.loads, action="append", help="one network, batch and optimiser (JSON)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=40)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if not args.case:
        parser.error("give --case at least once, or --serve")
    results = [images_per_second(c, t, args.repeats, args.max_seconds) for c in args.case for t in args.threads]
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
