#!/usr/bin/env python3
"""Lottery Lab experiment, exported to PyTorch.

Runs the experiment in config.json (the lab's validated config, every default
filled in) on the network in network.json (the lab's layer list: names,
shapes, pruning rates), and writes results.json with the lab's keys and the
final ticket as ticket.safetensors in the lab's ticket layout.

    python run.py [--data-dir DIR] [--out DIR] [--device cpu|cuda]
    torchrun --nproc_per_node=N run.py [same options]

Under torchrun every process draws the same batches and takes its share of
each one; DistributedDataParallel averages the gradients (gloo on CPU, nccl
on GPUs), so N processes train the same network as one, up to the order of
floating-point sums.

The lab's seeded random numbers (mulberry32), initialisation (untruncated
Glorot normal), validation hold-out, batch order, augmentation and pruning
rule are reproduced exactly, so the same seed starts from the same weights
and sees the same batches. Needs only torch and numpy.
"""
import argparse
import json
import math
import os
import struct
import sys
import tarfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
M32 = 0xFFFFFFFF
COVERED_METHODS = ("dense", "imp")
EVAL_BATCH = 500
BN_MOMENTUM = 0.1
BN_EPSILON = 1e-5
ADAM_EPSILON = 1e-7  # tfjs's float32 epsilon, which the lab's Adam uses


class ExperimentError(Exception):
    """Bad input: a one-line reason, given before training starts."""


# ---------------------------------------------------------------- random numbers


def js_round(x):
    """JavaScript's Math.round: halves go up."""
    return math.floor(x + 0.5)


def sub_seed(seed, purpose):
    """The lab's subSeed: a stable seed for a named purpose (init, data-0...)."""
    h = seed & M32
    for ch in purpose:
        h = ((h ^ ord(ch)) * 0x01000193) & M32
    return h


def _mix(states):
    """mulberry32's output function on an array of states (uint64 holding 32-bit values)."""
    t = states
    t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & np.uint64(M32)
    t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & np.uint64(M32))) & np.uint64(M32))
    return ((t ^ (t >> np.uint64(14))) & np.uint64(M32)).astype(np.float64) / 4294967296.0


class Rng:
    """The lab's Rng (mulberry32). Its state only counts up, so draws vectorise."""

    def __init__(self, seed):
        self.state = (((((seed ^ 0x9E3779B9) & M32) * 0x85EBCA6B) & M32) ^ 0xC2B2AE35) & M32

    def uniforms(self, n):
        """The next n values of next(), uniform in [0, 1)."""
        if n <= 0:
            return np.zeros(0)
        steps = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)
        states = (np.uint64(self.state) + steps) & np.uint64(M32)
        self.state = int(states[-1])
        return _mix(states)

    def next(self):
        return float(self.uniforms(1)[0])

    def normals(self, n):
        """n draws of normal(): Box-Muller, one cosine per pair of uniforms."""
        u = self.uniforms(2 * n)
        if n and np.any(u[0::2] == 0):
            # normal() redraws a zero first uniform: rare enough to do one at a time.
            self.state = (self.state - 2 * n * 0x6D2B79F5) & M32
            return np.array([self._normal() for _ in range(n)])
        return np.sqrt(-2.0 * np.log(u[0::2])) * np.cos(2.0 * math.pi * u[1::2])

    def _normal(self):
        u = 0.0
        while u == 0.0:
            u = self.next()
        return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * self.next())

    def shuffle(self, items):
        """In-place Fisher-Yates, drawing as the lab does (last index first)."""
        n = len(items)
        if n < 2:
            return items
        upper = np.arange(n - 1, 0, -1)
        picks = np.floor(self.uniforms(n - 1) * (upper + 1)).astype(np.int64)
        for i, j in zip(upper.tolist(), picks.tolist()):
            items[i], items[j] = items[j], items[i]
        return items


# ---------------------------------------------------------------- data

IMAGE_BYTES = 32 * 32 * 3
CIFAR10_TRAIN = ["data_batch_%d.bin" % i for i in range(1, 6)]
ARCHIVE_FOLDERS = {"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}


def parse_cifar(data, name, kind, labels):
    """Official CIFAR binary records -> (HWC uint8 images, labels), checked like the lab checks them."""
    label_bytes = 1 if kind == "cifar10" else 2
    record = label_bytes + IMAGE_BYTES
    if len(data) == 0 or len(data) % record:
        raise ExperimentError(
            "%s is %d bytes, not a whole number of %d-byte records; the file is truncated or not in the CIFAR binary format"
            % (name, len(data), record)
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    fields = [("label", 10)] if kind == "cifar10" else [("coarse label", 20), ("fine label", 100)]
    for column, (field, classes) in enumerate(fields):
        bad = np.nonzero(rows[:, column] >= classes)[0]
        if bad.size:
            raise ExperimentError("%s: record %d has %s %d, outside 0..%d" % (name, bad[0], field, rows[bad[0], column], classes - 1))
    use = 0 if kind == "cifar10" or labels == "coarse" else 1
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), rows[:, use].astype(np.int64), fields[use][1]


def data_reader(cfg, data_dir):
    """A function name -> bytes over the data folder, or over the official archive inside it."""
    if cfg.get("archive"):
        path = os.path.join(data_dir, cfg["archive"])
        try:
            archive = tarfile.open(path, "r:gz")
        except OSError as error:
            raise ExperimentError("Cannot read archive %s: %s" % (path, error))
        folder = ARCHIVE_FOLDERS[cfg["source"]]

        def read(name):
            try:
                return archive.extractfile("%s/%s" % (folder, name)).read()
            except (KeyError, AttributeError):
                raise ExperimentError("%s has no member %s/%s" % (path, folder, name))

        return read

    def read(name):
        path = os.path.join(data_dir, name)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as error:
            raise ExperimentError("Cannot read data file %s: %s" % (path, error.strerror))

    return read


def channel_stats(images):
    """Per-channel mean and std in [0, 1] units, in the lab's order of operations."""
    pixels = max(1, images.shape[0] * 32 * 32)
    flat = images.reshape(-1, 3).astype(np.int64)
    sums = flat.sum(axis=0).tolist()
    squares = (flat * flat).sum(axis=0).tolist()
    mean = [s / pixels / 255 for s in sums]
    std = [math.sqrt(max(q / pixels / (255 * 255) - mean[c] * mean[c], 1e-12)) or 1.0 for c, q in enumerate(squares)]
    return mean, std


def normalise(images, mean, std):
    table = (np.arange(256, dtype=np.float64)[:, None] / 255 - np.array(mean)) / np.array(std)
    table = table.astype(np.float32)
    return table[images, np.arange(3)]


def load_data(config, data_dir):
    """The lab's loadDataset: read, limit, hold out validation (seeded), normalise with the training split's statistics."""
    cfg = config["data"]
    kind = cfg["source"]
    if kind not in ("cifar10", "cifar100"):
        raise ExperimentError('data.source "%s": the exported program reads the official CIFAR binary files only' % kind)
    read = data_reader(cfg, data_dir)
    train_names = cfg.get("train") or (CIFAR10_TRAIN if kind == "cifar10" else ["train.bin"])
    test_name = cfg.get("test") or ("test_batch.bin" if kind == "cifar10" else "test.bin")
    limit = cfg.get("trainLimit")
    images, labels = [], []
    have = 0
    for name in train_names:
        if limit is not None and have >= limit:
            break
        x, y, classes = parse_cifar(read(name), os.path.join(data_dir, name), kind, cfg.get("labels", "fine"))
        images.append(x)
        labels.append(y)
        have += len(y)
    train_x, train_y = np.concatenate(images)[:limit], np.concatenate(labels)[:limit]
    test_x, test_y, _ = parse_cifar(read(test_name), os.path.join(data_dir, test_name), kind, cfg.get("labels", "fine"))
    test_x, test_y = test_x[: cfg.get("testLimit")], test_y[: cfg.get("testLimit")]
    hold_out = cfg["validation"]
    if hold_out >= len(train_y):
        raise ExperimentError("data.validation (%d) must be smaller than the %d training images" % (hold_out, len(train_y)))
    if hold_out == 0:
        raise ExperimentError("data.validation is 0: early stopping needs a validation split, and never looks at the test set")
    order = Rng(sub_seed(config["seed"], "validation")).shuffle(np.arange(len(train_y)))
    val_idx, train_idx = np.sort(order[:hold_out]), np.sort(order[hold_out:])
    val_x, val_y = train_x[val_idx], train_y[val_idx]
    train_x, train_y = train_x[train_idx], train_y[train_idx]
    mean, std = channel_stats(train_x)
    split = lambda x, y: (torch.from_numpy(normalise(x, mean, std)), torch.from_numpy(y))
    return {"train": split(train_x, train_y), "validation": split(val_x, val_y), "test": split(test_x, test_y), "classes": classes}


class Batches:
    """The lab's batch stream: one seeded order reshuffled in place each epoch; the last batch is the remainder."""

    def __init__(self, size, batch_size, seed, augment):
        self.size = size
        self.batch_size = batch_size
        self.steps_per_epoch = -(-size // batch_size)
        self.order = np.arange(size)
        self.position = size
        self.shuffle_rng = Rng(sub_seed(seed, "batches"))
        self.augment_rng = Rng(sub_seed(seed, "augment")) if augment else None

    def next(self):
        """Image indices of the next batch, and per image (top, left, flip) of its random crop, or None."""
        if self.position >= self.size:
            self.shuffle_rng.shuffle(self.order)
            self.position = 0
        end = min(self.position + self.batch_size, self.size)
        indices = self.order[self.position : end].copy()
        self.position = end
        crops = None
        if self.augment_rng:
            u = self.augment_rng.uniforms(3 * len(indices)).reshape(-1, 3)
            crops = np.stack([np.floor(u[:, 0] * 9), np.floor(u[:, 1] * 9), u[:, 2] < 0.5], axis=1).astype(np.int64)
        return indices, crops


def crop_flip(x, crops, padding=4):
    """Random crop after zero padding (the training mean in normalised units), then a horizontal flip."""
    padded = F.pad(x, (0, 0, padding, padding, padding, padding))
    out = torch.empty_like(x)
    for b, (top, left, flip) in enumerate(crops.tolist()):
        window = padded[b, top : top + 32, left : left + 32]
        out[b] = window.flip(1) if flip else window
    return out


# ---------------------------------------------------------------- network


class Network(torch.nn.Module):
    """The lab's layer list. Variables keep the lab's names and tfjs layout: conv kernels [h, w, in, out], dense [in, out]."""

    def __init__(self, network, seed):
        super().__init__()
        self.layers = network["layers"]
        self.params = torch.nn.ParameterDict()
        rng = Rng(seed)
        for layer in self.layers:
            name = layer.get("name")
            if layer["op"] in ("conv", "dense"):
                shape = layer["kernel"]
                size = int(np.prod(shape))
                # Untruncated Glorot normal, drawn layer after layer from one seeded stream.
                std = math.sqrt(2.0 / (layer["fanIn"] + layer["fanOut"]))
                kernel = (rng.normals(size) * std).astype(np.float32).reshape(shape)
                self.params[name + "/kernel"] = torch.nn.Parameter(torch.from_numpy(kernel))
                units = shape[-1]
                if layer.get("batchNorm"):
                    self.params[name + "/bn_gamma"] = torch.nn.Parameter(torch.ones(units))
                    self.params[name + "/bn_beta"] = torch.nn.Parameter(torch.zeros(units))
                    self.register_buffer(name + "__bn_mean", torch.zeros(units))
                    self.register_buffer(name + "__bn_variance", torch.ones(units))
                else:
                    self.params[name + "/bias"] = torch.nn.Parameter(torch.zeros(units))

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)  # NHWC batches, NCHW convolutions
        for layer in self.layers:
            op, name = layer["op"], layer.get("name")
            if op == "conv":
                kernel = self.params[name + "/kernel"].permute(3, 2, 0, 1)
                pad = (layer["kernel"][0] - 1) // 2
                if layer.get("batchNorm"):
                    x = F.conv2d(x, kernel, padding=pad)
                    x = F.batch_norm(
                        x, getattr(self, name + "__bn_mean"), getattr(self, name + "__bn_variance"),
                        self.params[name + "/bn_gamma"], self.params[name + "/bn_beta"], self.training, BN_MOMENTUM, BN_EPSILON,
                    )
                else:
                    x = F.conv2d(x, kernel, self.params[name + "/bias"], padding=pad)
                x = F.relu(x)
            elif op == "maxPool":
                x = F.max_pool2d(x, 2, 2)
            elif op == "flatten":
                x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # NHWC order, as the lab flattens
            elif op == "dense":
                x = x @ self.params[name + "/kernel"] + self.params[name + "/bias"]
                if not layer["output"]:
                    x = F.relu(x)
            else:
                raise ExperimentError('network.json: unknown layer op "%s"' % op)
        return x

    def variables(self):
        """Every parameter and BN statistic by the lab's variable name, in the lab's order."""
        out = {}
        for layer in self.layers:
            name = layer.get("name")
            if layer["op"] not in ("conv", "dense"):
                continue
            for suffix in ("kernel", "bias", "bn_gamma", "bn_beta"):
                if name + "/" + suffix in self.params:
                    out[name + "/" + suffix] = self.params[name + "/" + suffix]
            if layer.get("batchNorm"):
                out[name + "/bn_mean"] = getattr(self, name + "__bn_mean")
                out[name + "/bn_variance"] = getattr(self, name + "__bn_variance")
        return out

    def snapshot(self):
        return {k: v.detach().clone() for k, v in self.variables().items()}

    def restore(self, state):
        with torch.no_grad():
            for k, v in self.variables().items():
                v.copy_(state[k])

    def kernel(self, name):
        return self.params[name + "/kernel"]


# ---------------------------------------------------------------- pruning


def prune_smallest(entries, fraction):
    """Remove round(fraction * survivors) of the smallest surviving |w| over all entries; ties go by position."""
    surviving = sum(int(keep.sum()) for keep, _ in entries)
    count = js_round(fraction * surviving)
    if count <= 0:
        return
    positions, magnitudes = [], []
    for e, (keep, weights) in enumerate(entries):
        idx = np.flatnonzero(keep)
        positions.append(np.stack([np.full(idx.size, e), idx], axis=1))
        magnitudes.append(np.abs(weights.reshape(-1)[idx].astype(np.float32)))
    positions = np.concatenate(positions)
    order = np.argsort(np.concatenate(magnitudes), kind="stable")[:count]
    for e, i in positions[order].tolist():
        entries[e][0][i] = 0


def prune(masks, kernels, rule):
    """One step of the exported rule: layer-wise rates, or one global fraction over the unignored layers."""
    out = {name: keep.copy() for name, keep in masks.items()}
    if rule["strategy"] == "global":
        prune_smallest([(out[n], kernels[n]) for n in out if n not in rule["ignore"]], rule["fraction"])
    else:
        for name in out:
            prune_smallest([(out[name], kernels[name])], rule["rates"].get(name, 0))
    return out


def random_mask_like(masks, seed):
    """Random-pruning control: each layer's density, at random positions."""
    rng = Rng(seed)
    out = {}
    for name, keep in masks.items():
        order = rng.shuffle(np.arange(keep.size))
        fresh = np.zeros_like(keep)
        fresh[order[: int(keep.sum())]] = 1
        out[name] = fresh
    return out


# ---------------------------------------------------------------- safetensors


DTYPES = {"U8": np.uint8, "F32": np.float32}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, array) in tensors.items():
        data = np.ascontiguousarray(array, dtype=DTYPES[dtype]).astype("<" + np.dtype(DTYPES[dtype]).str[1:]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header.pop("__metadata__", None)
    body = raw[8 + length :]
    return {
        name: np.frombuffer(body[t["data_offsets"][0] : t["data_offsets"][1]], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
        for name, t in header.items()
    }


def js_number(x):
    """A number as JavaScript's String() writes it (1, not 1.0)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# ---------------------------------------------------------------- training


class Distributed:
    """torchrun's environment, or one process."""

    def __init__(self, device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "cuda":
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        else:
            self.device = torch.device("cpu")
        if self.world > 1:
            dist.init_process_group("nccl" if device == "cuda" else "gloo")

    def wrap(self, model):
        if self.world == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def total(self, value):
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor)
        return float(tensor[0])


def evaluate(model, split, device):
    x, y = split
    loss, correct = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(y), EVAL_BATCH):
            logits = model(x[start : start + EVAL_BATCH].to(device))
            labels = y[start : start + EVAL_BATCH].to(device)
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
    model.train()
    return {"loss": loss / len(y), "accuracy": correct / len(y)}


def device_masks(model, masks, device):
    """Float 0/1 masks on the device, made once per round rather than per step."""
    return {name: torch.from_numpy(keep.reshape(model.kernel(name).shape)).to(device=device, dtype=torch.float32) for name, keep in masks.items()}


def apply_masks(model, masks):
    """Zero the pruned weights: after every step, so they are 0 in every forward pass whatever Adam or momentum did."""
    with torch.no_grad():
        for name, keep in masks.items():
            model.kernel(name).mul_(keep)


def learning_rate_at(train, epoch):
    return train["lr"] * train["lrDecay"] ** sum(1 for e in train["lrDecayEpochs"] if epoch >= e)


def measure_layers(model, prunable):
    layers = []
    for layer in prunable:
        kernel = model.kernel(layer["name"]).detach()
        layers.append({"name": layer["name"], "weights": kernel.numel(), "remaining": int((kernel != 0).sum())})
    total = sum(l["weights"] for l in layers)
    return layers, (1 - sum(l["remaining"] for l in layers) / total if total else 0)


def train_round(ctx, model, series, round_index, masks, data_seed, start, snapshot_at=None):
    """The lab's trainRound: a fresh optimiser, masks after every step, evaluations and the early-stop record."""
    config, data, par = ctx["config"], ctx["data"], ctx["par"]
    train = config["train"]
    stop = ctx["iterations"]
    device = par.device
    model.to(device)
    wrapped = par.wrap(model)
    params = list(model.parameters())
    if train["optimizer"] == "adam":
        optimizer = torch.optim.Adam(params, lr=train["lr"], betas=(0.9, 0.999), eps=ADAM_EPSILON, weight_decay=train["weightDecay"])
    else:
        optimizer = torch.optim.SGD(params, lr=train["lr"], momentum=train["momentum"], weight_decay=train["weightDecay"])
    train_x, train_y = data["train"]
    stream = Batches(len(train_y), train["batchSize"], data_seed, config["data"]["augment"])
    evals, early, snapshot = [], None, None
    loss_sum, loss_count, seconds, images, iteration = 0.0, 0, 0.0, 0, start

    def set_lr(epoch):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(train, epoch)

    def run_eval():
        nonlocal loss_sum, loss_count, early
        train_loss = par.total(loss_sum) / loss_count if loss_count else float("nan")
        loss_sum, loss_count = 0.0, 0
        validation = evaluate(model, data["validation"], device)
        test = evaluate(model, data["test"], device)
        point = {
            "iteration": iteration, "trainLoss": train_loss, "validationLoss": validation["loss"],
            "validationAccuracy": validation["accuracy"], "testLoss": test["loss"], "testAccuracy": test["accuracy"],
        }
        if early is None or validation["loss"] < early["loss"]:
            early = {"iteration": iteration, "loss": validation["loss"], "testAccuracy": test["accuracy"]}
        evals.append(point)
        ctx["log"]("[%s round %d] it %d loss %.3f val %.1f%% test %.1f%%" % (
            series, round_index, iteration, train_loss, 100 * validation["accuracy"], 100 * test["accuracy"]))
        return point

    masks = device_masks(model, masks, device) if masks is not None else None
    if masks is not None:
        apply_masks(model, masks)
    if snapshot_at == start:
        snapshot = model.snapshot()
    set_lr(start // stream.steps_per_epoch)
    for _ in range(start % stream.steps_per_epoch):
        stream.next()  # keep the batch order of a rewound schedule aligned with one from 0
    while iteration < stop:
        began = time.perf_counter()
        indices, crops = stream.next()
        batch = len(indices)
        share = np.array_split(np.arange(batch), par.world)[par.rank]  # this process's part of the batch
        x = train_x[indices[share]]
        if crops is not None:
            x = crop_flip(x, crops[share])
        y = train_y[indices[share]].to(device)
        logits = wrapped(x.to(device))
        # Summed over this share, over the whole batch: DDP's mean over processes makes it the batch mean.
        local = F.cross_entropy(logits, y, reduction="sum") / batch
        optimizer.zero_grad(set_to_none=True)
        (local * par.world).backward()
        optimizer.step()
        if masks is not None:
            apply_masks(model, masks)
        loss_sum += float(local)
        loss_count += 1
        iteration += 1
        seconds += time.perf_counter() - began
        images += batch
        if iteration == snapshot_at:
            snapshot = model.snapshot()
        if (iteration - start) % train["evalEvery"] == 0 and iteration != stop:
            run_eval()
        if iteration % stream.steps_per_epoch == 0:
            set_lr(iteration // stream.steps_per_epoch)
    final = run_eval()
    layers, sparsity = measure_layers(model, ctx["network"]["prunable"])
    result = {
        "round": round_index, "sparsity": sparsity, "layers": layers, "testAccuracy": final["testAccuracy"],
        "earlyStopIteration": early["iteration"], "testAccuracyAtEarlyStop": early["testAccuracy"],
        "trainSeconds": seconds, "iterations": iteration - start, "imagesPerSecond": images / max(seconds, 1e-9), "curve": evals,
    }
    ctx["log"]("== %s round %d: %.1f%% of weights remaining, test %.1f%%, early-stop it %d test %.1f%%, %.0f img/s, %.1f s" % (
        series, round_index, 100 * (1 - sparsity), 100 * result["testAccuracy"], result["earlyStopIteration"],
        100 * result["testAccuracyAtEarlyStop"], result["imagesPerSecond"], seconds))
    return result, snapshot


def kernels_of(model):
    return {name: model.kernel(name).detach().cpu().numpy().reshape(-1) for name in model_prunable(model)}


def model_prunable(model):
    return [l["name"] for l in model.layers if l["op"] in ("conv", "dense")]


def run_imp(ctx):
    config, network = ctx["config"], ctx["network"]
    seed = config["seed"]
    rule = network["prune"]
    rewind = config["prune"]["rewindIteration"]
    rounds = 1 if config["method"] == "dense" else (2 if config["prune"].get("oneShotSparsity") is not None else config["prune"]["rounds"] + 1)
    controls = config["controls"] if config["method"] == "imp" else []
    model = Network(network, sub_seed(seed, "init"))
    masks = {l["name"]: np.ones(int(np.prod(l["shape"])), dtype=np.uint8) for l in network["prunable"]}
    rewind_state = model.snapshot() if rewind == 0 else None
    ticket, control_results, final_ticket = [], {c: [] for c in controls}, None
    for round_index in range(rounds):
        result, snapshot = train_round(
            ctx, model, "ticket", round_index, None if round_index == 0 else masks, sub_seed(seed, "data-%d" % round_index),
            0 if round_index == 0 else rewind, rewind if round_index == 0 and rewind > 0 else None,
        )
        rewind_state = snapshot if snapshot is not None else rewind_state
        ticket.append(result)
        for control in controls:
            if round_index == 0:
                control_results[control].append(result)
                continue
            if control == "randomReinit":
                other = Network(network, sub_seed(seed, "reinit-%d" % round_index))
                other_masks, start = masks, 0
            else:
                other = Network(network, sub_seed(seed, "init"))
                other.restore(rewind_state)
                other_masks, start = random_mask_like(masks, sub_seed(seed, "random-mask-%d" % round_index)), rewind
            control_results[control].append(
                train_round(ctx, other, control, round_index, other_masks, sub_seed(seed, "data-%d" % round_index), start)[0]
            )
        if round_index > 0:
            final_ticket = (round_index, {k: v.copy() for k, v in masks.items()})
        if round_index == rounds - 1:
            break
        masks = prune(masks, kernels_of(model), rule)
        if rewind_state is None:
            raise ExperimentError("Rewind point %d was never reached: training has fewer iterations" % rewind)
        model.restore(rewind_state)
    return ticket, (control_results if controls else None), final_ticket, rewind_state


def write_ticket(path, config, network, final_ticket, rewind_state):
    round_index, masks = final_ticket
    tensors = {}
    for layer in network["prunable"]:
        tensors["mask/" + layer["name"]] = ("U8", masks[layer["name"]].reshape(layer["shape"]))
    for name, value in rewind_state.items():
        tensors["weight/" + name] = ("F32", value.detach().cpu().numpy())
    total = sum(m.size for m in masks.values())
    metadata = {
        "format": "lottery-lab-ticket", "version": "1", "arch": config["model"]["arch"], "width": js_number(config["model"]["width"]),
        "numClasses": str(network["numClasses"]), "method": config["method"], "round": str(round_index),
        "sparsity": js_number(1 - sum(int(m.sum()) for m in masks.values()) / total), "iteration": str(config["prune"]["rewindIteration"]),
    }
    if config["model"].get("channels"):
        # A network built with model.channels: its ticket names them, as the lab's slim tickets do.
        metadata["channels"] = json.dumps(config["model"]["channels"], sort_keys=True, separators=(",", ":"))
    write_safetensors(path, tensors, metadata)


def load_inputs(folder):
    def read(name):
        path = os.path.join(folder, name)
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as error:
            raise ExperimentError("Cannot read %s: %s" % (path, error))

    config, network = read("config.json"), read("network.json")
    if config.get("version") != 1:
        raise ExperimentError("config.json version %r is not supported (expected 1)" % config.get("version"))
    if config.get("method") not in COVERED_METHODS:
        raise ExperimentError('method "%s" is not covered by the exported program (covered: %s)' % (config.get("method"), ", ".join(COVERED_METHODS)))
    return config, network


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run an exported Lottery Lab experiment in PyTorch.")
    parser.add_argument("--data-dir", help="folder with the CIFAR binary files (default: config data.dir)")
    parser.add_argument("--out", default=HERE, help="where results.json and ticket.safetensors go (default: this folder)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iterations", type=int, help="override train.iterations (a shorter schedule to try the program)")
    parser.add_argument("--prune-only", nargs=2, metavar=("IN", "OUT"),
                        help="apply one pruning step of the config's rule to the kernels and masks in IN (.safetensors, mask/<layer>, weight/<layer>/kernel) and write the masks to OUT")
    parser.add_argument("--write-init", metavar="OUT", help="write the seeded initial variables to OUT (.safetensors) and exit")
    args = parser.parse_args(argv)
    try:
        config, network = load_inputs(HERE)
        if args.prune_only:
            tensors = read_safetensors(args.prune_only[0])
            masks = {l["name"]: tensors["mask/" + l["name"]].reshape(-1) for l in network["prunable"]}
            kernels = {l["name"]: tensors["weight/%s/kernel" % l["name"]].reshape(-1) for l in network["prunable"]}
            out = prune(masks, kernels, network["prune"])
            write_safetensors(args.prune_only[1], {"mask/" + l["name"]: ("U8", out[l["name"]].reshape(l["shape"])) for l in network["prunable"]}, {})
            return 0
        if args.write_init:
            model = Network(network, sub_seed(config["seed"], "init"))
            write_safetensors(args.write_init, {"weight/" + k: ("F32", v.detach().numpy()) for k, v in model.variables().items()}, {})
            return 0
        torch.manual_seed(config["seed"])
        par = Distributed(args.device)
        data_dir = args.data_dir or config["data"].get("dir") or "."
        data = load_data(config, data_dir)
        if data["classes"] != network["numClasses"]:
            raise ExperimentError("network.json has %d outputs but the data has %d classes" % (network["numClasses"], data["classes"]))
        train = config["train"]
        if args.iterations:
            train["iterations"] = args.iterations
        steps = -(-len(data["train"][1]) // train["batchSize"])
        iterations = train["iterations"] if train.get("iterations") is not None else (train.get("epochs") or 1) * steps
        log = (lambda line: print(line, flush=True)) if par.rank == 0 else (lambda line: None)
        log("pytorch %s on %s, %d process(es); data %d train / %d validation / %d test" % (
            torch.__version__, par.device, par.world, len(data["train"][1]), len(data["validation"][1]), len(data["test"][1])))
        ctx = {"config": config, "network": network, "data": data, "par": par, "iterations": iterations, "log": log}
        started = time.time()
        rounds, controls, final_ticket, rewind_state = run_imp(ctx)
        if par.rank == 0:
            every = rounds + [r for series in (controls or {}).values() for r in series[1:]]
            train_seconds = sum(r["trainSeconds"] for r in every)
            images = sum(r["imagesPerSecond"] * r["trainSeconds"] for r in every)
            results = {
                "config": config, "method": config["method"],
                "backend": "pytorch-%s" % par.device.type,
                "adapter": torch.cuda.get_device_name(par.device) if par.device.type == "cuda" else None,
                "runtime": {"program": "pytorch", "torch": torch.__version__, "processes": par.world},
                "dataset": {"source": config["data"]["source"], "train": len(data["train"][1]), "validation": len(data["validation"][1]),
                            "test": len(data["test"][1]), "classes": data["classes"]},
                "rounds": rounds, "imagesPerSecond": images / train_seconds if train_seconds else 0,
                "seconds": time.time() - started, "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            }
            if controls:
                results["controls"] = controls
            os.makedirs(args.out, exist_ok=True)
            if final_ticket:
                write_ticket(os.path.join(args.out, "ticket.safetensors"), config, network, final_ticket, rewind_state)
            path = os.path.join(args.out, "results.json")
            with open(path + ".tmp", "w") as f:
                json.dump(results, f, indent=2)
            os.replace(path + ".tmp", path)
            log("wrote %s" % path)
        if par.world > 1:
            dist.destroy_process_group()
        return 0
    except ExperimentError as error:
        print("error: %s" % error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
