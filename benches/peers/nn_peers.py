"""The PyTorch side of scripts/compare-nn-peers: the pretrained MNIST CNN and its layers, dense
and compressed, in PyTorch (CPU, 2 threads) and tensorly-torch 0.5, on the inputs tensorize reads.

  nn_peers.py inputs DIR          write the images, labels and seeded batches (.npy) both sides read
  nn_peers.py run DIR [RUNS]      time PyTorch (and tensorly-torch) on them; print RESULT lines
  nn_peers.py memory DIR MODE     (started by `run` in a fresh process) one training step's memory
  nn_peers.py report DIR          pair DIR/tensorize.txt with DIR/pytorch.txt: tables, CHECK and GOAL lines

`run` reads what examples/nn_peers.rs wrote into DIR before it: the compressed layers
(`layers.txt`, their factors in `layer_<name>.safetensors`) and its outputs (`out_*.npy`), so the
PyTorch layers run the very same factors and each RESULT line says how far its output is from
tensorize's. Every workload is timed `RUNS` times (layers and conv2: 5 × RUNS) after one warm-up
call; the median is reported.
"""
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import parse, timed  # noqa: E402  (the TensorLy comparison's RESULT format)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFER_BATCH, TRAIN_BATCH = 256, 128
LR, MOMENTUM = 0.01, 0.9
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# The pretrained CNN's tensors in nn.Sequential order (data/README.md).
CNN_TENSORS = [("0", "features.0"), ("3", "features.3"), ("7", "classifier.0"), ("9", "classifier.2")]


def data_file(relative):
    """The first of $TENSORIZE_DATA, data/ and ../shared/data that holds `relative` (as the Rust
    programs look, tests/common/data.rs)."""
    dirs = [os.environ.get("TENSORIZE_DATA"), os.path.join(ROOT, "data"),
            os.path.join(ROOT, "..", "shared", "data")]
    for d in filter(None, dirs):
        if os.path.isfile(os.path.join(d, relative)):
            return os.path.join(d, relative)
    sys.exit(f"{relative} not found in {dirs}; set TENSORIZE_DATA to the folder that holds it")


def read_idx(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_inputs(d):
    os.makedirs(d, exist_ok=True)
    pixels = read_idx(data_file("mnist/t10k-images.idx3-ubyte.gz"))[:INFER_BATCH]
    labels = read_idx(data_file("mnist/t10k-labels.idx1-ubyte.gz"))[:INFER_BATCH]
    images = ((pixels.astype(np.float64) / 255.0 - MNIST_MEAN) / MNIST_STD).astype(np.float32)
    np.save(f"{d}/images.npy", images.reshape(INFER_BATCH, 1, 28, 28))
    np.save(f"{d}/labels.npy", labels.astype(np.float64))
    rng = np.random.default_rng(2024)
    np.save(f"{d}/conv2_x.npy", rng.standard_normal((TRAIN_BATCH, 32, 14, 14)).astype(np.float32))
    np.save(f"{d}/conv2_dy.npy", rng.standard_normal((TRAIN_BATCH, 64, 14, 14)).astype(np.float32))
    np.save(f"{d}/fc1_x.npy", rng.standard_normal((TRAIN_BATCH, 3136)).astype(np.float32))


def warm_timed(fn, runs):
    """peers.timed after one untimed warm-up call."""
    fn()
    return timed(fn, runs)


def rel_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def vs_tensorize(d, name, ours):
    """` rel_diff_vs_tensorize=<e>` against tensorize's output `out_<name>.npy`, if it wrote one."""
    path = f"{d}/out_{name}.npy"
    if not os.path.isfile(path):
        return ""
    return f" rel_diff_vs_tensorize={rel_diff(ours.detach().numpy(), np.load(path)):.3e}"


def setup_torch():
    import torch
    torch.set_num_threads(2)
    return torch


def cnn(torch):
    from safetensors.numpy import load_file
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    w = load_file(data_file("models/mnist_cnn.safetensors"))
    state = {f"{ours}.{p}": torch.from_numpy(w[f"{theirs}.{p}"].copy())
             for ours, theirs in CNN_TENSORS for p in ("weight", "bias")}
    model.load_state_dict(state)
    return model


def train_batch(torch, d):
    x = torch.from_numpy(np.load(f"{d}/images.npy")[:TRAIN_BATCH].copy())
    y = torch.from_numpy(np.load(f"{d}/labels.npy")[:TRAIN_BATCH].astype(np.int64))
    return x, y


def train_step(torch, model, opt, x, y):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def sgd(torch, model):
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)


def run(d, runs):
    torch = setup_torch()
    print(f"INFO torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    memory_results(d)

    model = cnn(torch).eval()
    x = torch.from_numpy(np.load(f"{d}/images.npy")[:INFER_BATCH].copy())
    with torch.inference_mode():
        secs, logits = warm_timed(lambda: model(x), runs)
    print(f"RESULT cnn_inference_b{INFER_BATCH} median_s={secs:.6f} runs={runs} "
          f"images_per_s={INFER_BATCH / secs:.1f}{vs_tensorize(d, 'cnn_inference', logits)}", flush=True)

    xb, yb = train_batch(torch, d)
    model = cnn(torch).train()
    opt = sgd(torch, model)
    loss = train_step(torch, model, opt, xb, yb)
    with torch.no_grad():
        loss_after = torch.nn.functional.cross_entropy(model(xb), yb).item()
    model = cnn(torch).train()
    opt = sgd(torch, model)
    secs, _ = warm_timed(lambda: train_step(torch, model, opt, xb, yb), runs)
    print(f"RESULT cnn_train_step_b{TRAIN_BATCH} median_s={secs:.6f} runs={runs} loss={loss:.7f} "
          f"loss_after_step={loss_after:.7f}", flush=True)

    conv2_workloads(torch, d, runs * 5)
    layer_workloads(torch, d, runs * 5)


def conv2_workloads(torch, d, reps):
    conv = cnn(torch)[3]
    x = torch.from_numpy(np.load(f"{d}/conv2_x.npy"))
    dy = torch.from_numpy(np.load(f"{d}/conv2_dy.npy"))
    b = x.shape[0]
    flops = 2.0 * conv.weight.numel() * 14 * 14 * b
    with torch.inference_mode():
        secs, y = warm_timed(lambda: conv(x), reps)
    print(f"RESULT conv2_forward_b{b} median_s={secs:.6f} runs={reps} gflops={flops / secs / 1e9:.2f}"
          f"{vs_tensorize(d, 'conv2_forward', y)}", flush=True)
    # The backward pass as tensorize's Conv2d::backward computes it: the gradients of the input,
    # the weight and the bias, from a kept forward pass.
    xg = x.clone().requires_grad_(True)
    y = conv(xg)
    params = [xg, conv.weight, conv.bias]
    secs, grads = warm_timed(lambda: torch.autograd.grad(y, params, dy, retain_graph=True), reps)
    print(f"RESULT conv2_backward_b{b} median_s={secs:.6f} runs={reps} "
          f"gflops={2 * flops / secs / 1e9:.2f}{vs_tensorize(d, 'conv2_backward_dx', grads[0])}",
          flush=True)


# The PyTorch module for each kind of layer that examples/nn_peers.rs lists, given the dense
# layer (conv2 or fc1) and the ranks; its parameters, in `parameters()` order, are tensorize's
# in `visit_params` order. `cp_conv` is tensorize's CpConv (1×1 → depthwise kh×kw → 1×1 with
# the bias); a layer whose factors do not fit the module is reported, not guessed.
def plain_module(torch, kind, ranks):
    nn = torch.nn
    if kind == "dense_conv":
        return nn.Conv2d(32, 64, 3, padding=1)
    if kind == "dense_linear":
        return nn.Linear(3136, 128)
    if kind == "svd_linear":
        (r,) = ranks
        return nn.Sequential(nn.Linear(3136, r, bias=False), nn.Linear(r, 128))
    if kind == "svd_conv":
        (r,) = ranks
        return nn.Sequential(nn.Conv2d(32, r, 3, padding=1, bias=False), nn.Conv2d(r, 64, 1))
    if kind == "tucker2_conv":
        r_out, r_in = ranks
        return nn.Sequential(nn.Conv2d(32, r_in, 1, bias=False),
                             nn.Conv2d(r_in, r_out, 3, padding=1, bias=False),
                             nn.Conv2d(r_out, 64, 1))
    if kind == "cp_conv":
        (r,) = ranks
        return nn.Sequential(nn.Conv2d(32, r, 1, bias=False),
                             nn.Conv2d(r, r, 3, padding=1, groups=r, bias=False),
                             nn.Conv2d(r, 64, 1))
    raise ValueError(f"no PyTorch module for kind {kind}")


# tensorly-torch's two ways to run a factorized layer: contract the input with the factors, or
# rebuild the dense weight on every call and run the dense layer.
TLTORCH_IMPLEMENTATIONS = ("factorized", "reconstructed")


def tltorch_module(torch, kind, ranks, dense, implementation):
    """tensorly-torch 0.5's factorized layer at the same ranks, decomposed by tensorly-torch from
    the dense layer; or the reason there is none."""
    import tltorch
    if kind == "svd_linear":
        # A 2-way CP of the [out, in] weight is the rank-r factorization x ↦ A (Bᵀ x).
        return tltorch.FactorizedLinear.from_linear(
            dense, rank=ranks[0], auto_tensorize=False, in_tensorized_features=(3136,),
            out_tensorized_features=(128,), factorization="cp", implementation=implementation)
    if kind == "tucker2_conv":
        r_out, r_in = ranks
        return tltorch.FactorizedConv.from_conv(
            dense, rank=[r_out, r_in, 3, 3], factorization="tucker", implementation=implementation)
    if kind == "cp_conv":
        return tltorch.FactorizedConv.from_conv(
            dense, rank=ranks[0], factorization="cp", implementation=implementation)
    if kind == "svd_conv":
        return "tensorly-torch 0.5 has no matrix (SVD) factorization of a convolution kernel"
    return None


def read_layers(d):
    layers = []
    with open(f"{d}/layers.txt") as f:
        for line in f:
            parts = line.split()
            fields = dict(p.split("=", 1) for p in parts[2:])
            ranks = [int(r) for r in fields["ranks"].split(",") if r]
            layers.append((parts[1], fields["kind"], fields["base"], ranks))
    return layers


def layer_workloads(torch, d, reps):
    from safetensors.numpy import load_file
    try:
        import tltorch
        print(f"INFO tensorly-torch={tltorch.__version__}", flush=True)
        tl_error = None
    except Exception as e:  # noqa: BLE001  (any import failure skips just that column)
        tl_error = f"tensorly-torch does not import: {type(e).__name__}: {e}"
    inputs = {"conv2": torch.from_numpy(np.load(f"{d}/conv2_x.npy")),
              "fc1": torch.from_numpy(np.load(f"{d}/fc1_x.npy"))}
    dense = {}
    dense_out = {}
    for name, kind, base, ranks in read_layers(d):
        x = inputs[base]
        module = plain_module(torch, kind, ranks)
        params = load_file(f"{d}/layer_{name}.safetensors")
        values = [params[f"p{i}"] for i in range(len(params))]
        shapes = [tuple(p.shape) for p in module.parameters()]
        if [int(np.prod(s)) for s in shapes] != [v.size for v in values]:
            print(f"SKIP layer_{name} PyTorch: tensorize's factors have sizes "
                  f"{[v.size for v in values]}, the PyTorch module {shapes}", flush=True)
        else:
            with torch.no_grad():
                for p, v in zip(module.parameters(), values):
                    p.copy_(torch.from_numpy(v.reshape(p.shape)))
            with torch.inference_mode():
                secs, y = warm_timed(lambda: module(x), reps)
            if kind.startswith("dense"):
                dense[base], dense_out[base] = module, y
            err = f" rel_error_vs_dense={rel_diff(y, dense_out[base]):.4e}" if base in dense_out else ""
            print(f"RESULT layer_{name} median_s={secs:.6f} runs={reps}{err}"
                  f"{vs_tensorize(d, 'layer_' + name, y)}", flush=True)
        if kind.startswith("dense"):
            continue
        for implementation in TLTORCH_IMPLEMENTATIONS:
            key = f"tltorch_{implementation}_{name}"
            if tl_error is not None:
                print(f"SKIP {key} {tl_error}", flush=True)
                continue
            try:
                tl_module = tltorch_module(torch, kind, ranks, dense[base], implementation)
                if tl_module is None or isinstance(tl_module, str):
                    print(f"SKIP {key} {tl_module or 'no tensorly-torch layer of this kind'}", flush=True)
                    continue
                with torch.inference_mode():
                    secs, y = warm_timed(lambda: tl_module(x), reps)
                print(f"RESULT {key} median_s={secs:.6f} runs={reps} "
                      f"rel_error_vs_dense={rel_diff(y, dense_out[base]):.4e}", flush=True)
            except Exception as e:  # noqa: BLE001  (a failing layer skips just that entry)
                first = str(e).splitlines()[0] if str(e) else ""
                print(f"SKIP {key} {type(e).__name__}: {first}", flush=True)


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return None


def memory(d, mode):
    """The second training step of a fresh model in this fresh process (the first allocates the
    momentum buffers): `rss` is Linux's VmHWM (reset just before the step) over VmRSS before it,
    after malloc_trim gave the pages the first step freed back;
    `profiler` is the peak of torch's own CPU-allocator count (the profiler's "Total Allocated",
    which counts only blocks allocated while profiling: those of the step)."""
    torch = setup_torch()
    x, y = train_batch(torch, d)
    model = cnn(torch).train()
    opt = sgd(torch, model)
    train_step(torch, model, opt, x, y)
    if mode == "rss":
        # Give the pages the first step freed back to the system, so the second step's show.
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        base = status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        train_step(torch, model, opt, x, y)
        print(f"MEM rss_peak_over_start={(status_kib('VmHWM') - base) * 1024}")
    else:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            train_step(torch, model, opt, x, y)
        with tempfile.TemporaryDirectory() as tmp:
            prof.export_chrome_trace(f"{tmp}/trace.json")
            events = json.load(open(f"{tmp}/trace.json"))["traceEvents"]
        totals = [e["args"]["Total Allocated"] for e in events
                  if e.get("name") == "[memory]" and "Total Allocated" in e.get("args", {})]
        print(f"MEM profiler_peak_over_start={max(totals) if totals else float('nan')}")


def memory_results(d):
    found = {}
    for mode in ("rss", "profiler"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "memory", d, mode],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("MEM "):
                key, value = line.split()[1].split("=")
                found[key] = value
    fields = " ".join(f"{k}={v}" for k, v in found.items())
    print(f"RESULT train_step_peak_memory median_s=0 runs=1 {fields}", flush=True)


# (workload, target, kind): "speed" is PyTorch's time / tensorize's >= target; "gemm" is
# tensorize's GFLOP/s / the faer GEMM's in the same process >= target.
GOALS = [
    (f"cnn_inference_b{INFER_BATCH}", 1.0, "speed"),
    (f"cnn_train_step_b{TRAIN_BATCH}", 1.0, "speed"),
    (f"conv2_forward_b{TRAIN_BATCH}", 0.4, "gemm"),
    (f"conv2_backward_b{TRAIN_BATCH}", 0.4, "gemm"),
]


def notes(path):
    with open(path) as f:
        return [line.rstrip() for line in f if line.split(" ", 1)[0] in ("CHECK", "SKIP", "INFO")]


def report(d):
    ours, peer = parse(f"{d}/tensorize.txt"), parse(f"{d}/pytorch.txt")
    # The GEMM reference of the conv2 goals: the faster of the two faer GEMM layouts of conv2's
    # multiply-adds measured in the same process.
    refs = {k: v for k, v in ours.items() if k.startswith("faer_gemm_")}
    gemm_name = max(refs, key=lambda k: refs[k]["gflops"], default=None)
    gemm = refs.get(gemm_name)
    ms = lambda r: f"{1e3 * r['median_s']:.2f} ms"  # noqa: E731

    print("| workload | tensorize | PyTorch | PyTorch time / tensorize time |")
    print("|---|---|---|---|")
    for name, _, _ in GOALS:
        if name not in ours or name not in peer:
            continue
        o, p = ours[name], peer[name]
        extra = lambda r: (f", {r['images_per_s']:.0f} images/s" if "images_per_s" in r else "") + (  # noqa: E731
            f", {r['gflops']:.1f} GFLOP/s" if "gflops" in r else "")
        print(f"| {name} | {ms(o)}{extra(o)} | {ms(p)}{extra(p)} | {p['median_s'] / o['median_s']:.2f} |")
    for name, r in refs.items():
        what = ("128 GEMMs of one image, images over the threads" if name.endswith("_per_image")
                else "one GEMM, all threads")
        print(f"| {name} ({what}) | {ms(r)}, {r['gflops']:.1f} GFLOP/s | | |")

    layers = read_layers(d) if os.path.isfile(f"{d}/layers.txt") else []
    base_name = {base: name for name, kind, base, _ in layers if kind.startswith("dense")}
    layer_goals = []
    if layers:
        print("\n| layer | params | FLOPs / sample | dense FLOPs / these | tensorize | speed-up over dense "
              "| PyTorch, same factors | speed-up | tensorly-torch 0.5 factorized (speed-up over PyTorch dense) "
              "| tensorly-torch reconstructed "
              "| weight rel. error (tensorize) | output rel. error (tensorize; tensorly-torch) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, kind, base, ranks in layers:
        key, dkey = f"layer_{name}", f"layer_{base_name.get(base)}"
        if key not in ours or dkey not in ours:
            continue
        o, od = ours[key], ours[dkey]
        flop_ratio = od["flops"] / o["flops"]
        speed = od["median_s"] / o["median_s"]
        p, pd = peer.get(key), peer.get(dkey)
        tl = [peer.get(f"tltorch_{i}_{name}") for i in TLTORCH_IMPLEMENTATIONS]
        tl_cell = lambda t: (f"{ms(t)} ({pd['median_s'] / t['median_s']:.2f}×)" if t and pd  # noqa: E731
                             else "skipped")
        errors = [f"{p['rel_error_vs_dense']:.3f}" if p and "rel_error_vs_dense" in p else "-"]
        errors += [f"{t['rel_error_vs_dense']:.3f}" for t in tl if t][:1]
        cells = [name, f"{o['params']:.0f}", f"{o['flops'] / 1e6:.2f} M", f"{flop_ratio:.2f}", ms(o),
                 f"{speed:.2f}",
                 ms(p) if p else "-", f"{pd['median_s'] / p['median_s']:.2f}" if p and pd else "-",
                 "-" if kind.startswith("dense") else tl_cell(tl[0]),
                 "-" if kind.startswith("dense") else tl_cell(tl[1]),
                 f"{o['weight_rel_error']:.3f}", "; ".join(errors)]
        print("| " + " | ".join(cells) + " |")
        if not kind.startswith("dense"):
            layer_goals.append((key, speed, flop_ratio / 2))

    mem_o, mem_p = ours.get("train_step_peak_memory", {}), peer.get("train_step_peak_memory", {})
    print("\nPeak memory of one training step (batch 128; the second step of a fresh model, over what "
          "was held just before it):")
    if mem_o:
        print(f"- tensorize, heap (counting global allocator): {mem_o['heap_peak_over_start'] / 2**20:.1f} MiB "
              f"(heap held at the start: {mem_o['heap_at_start'] / 2**20:.1f} MiB, most of it faer's per-thread "
              "GEMM packing buffers, 2 × L3 per thread that ran a GEMM, allocated but mostly never touched)")
        print(f"- tensorize, resident (VmHWM − VmRSS): {mem_o['rss_peak_over_start'] / 2**20:.1f} MiB")
    if mem_p:
        if "profiler_peak_over_start" in mem_p:
            print(f"- PyTorch, torch's CPU allocator (profiler, profile_memory=True, \"Total Allocated\" "
                  f"peak of blocks allocated in the step): {mem_p['profiler_peak_over_start'] / 2**20:.1f} MiB")
        if "rss_peak_over_start" in mem_p:
            print(f"- PyTorch, resident (VmHWM − VmRSS, fresh process): "
                  f"{mem_p['rss_peak_over_start'] / 2**20:.1f} MiB")

    print()
    for line in notes(f"{d}/tensorize.txt") + notes(f"{d}/pytorch.txt"):
        print(line)
    name = f"cnn_train_step_b{TRAIN_BATCH}"
    if name in ours and name in peer:
        for key in ("loss", "loss_after_step"):
            a, b = ours[name][key], peer[name][key]
            verdict = "same" if abs(a - b) <= 1e-5 * max(1.0, abs(b)) else "differs"
            print(f"CHECK {key} tensorize={a:.7f} pytorch={b:.7f} {verdict}")
    for key, r in peer.items():
        if "rel_diff_vs_tensorize" in r:
            print(f"CHECK output {key} rel_diff_vs_tensorize={r['rel_diff_vs_tensorize']:.2e}")

    print()
    for name, target, kind in GOALS:
        if name not in ours or (kind == "speed" and name not in peer) or (kind == "gemm" and not gemm):
            print(f"GOAL {name} ratio=none target=>={target:g} missed (no result)")
            continue
        if kind == "speed":
            ratio = peer[name]["median_s"] / ours[name]["median_s"]
        else:
            ratio = ours[name]["gflops"] / gemm["gflops"]
            name = f"{name}_of_{gemm_name}"
        print(f"GOAL {name} ratio={ratio:.2f} target=>={target:g} {'met' if ratio >= target else 'missed'}")
    for key, speed, target in layer_goals:
        print(f"GOAL {key}_speedup ratio={speed:.2f} target=>={target:.2f} {'met' if speed >= target else 'missed'}")


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "inputs":
        write_inputs(d)
    elif cmd == "run":
        run(d, int(sys.argv[3]) if len(sys.argv) > 3 else 10)
    elif cmd == "memory":
        memory(d, sys.argv[3])
    elif cmd == "report":
        report(d)
    else:
        sys.exit(f"unknown command {cmd}")
