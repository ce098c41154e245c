"""The NumPy side of scripts/compare-checkpoint-svd, and the transformer-shaped checkpoints it runs on.

  checkpoint_svd.py make OUT --width D --layers L --vocab V [--seed S]
      write a GPT-2-shaped safetensors file (float32; an int64 position-id tensor): per block
      attn.c_attn [D, 3D], attn.c_proj [D, D], mlp.c_fc [D, 4D], mlp.c_proj [4D, D], biases and
      layer norms; wte [V, D], wpe [1024, D]. Weights have a decaying spectrum (s_i ~ (1+i)^-0.5,
      as trained weights do, unlike plain noise), built as G1 diag(s) G2 from Gaussian factors.
  checkpoint_svd.py numpy FILE REPORT.json [OUT]
      the same truncated SVDs as `tensorize compress --method svd` (the ranks read from its JSON
      report) with numpy.linalg.svd (LAPACK gesdd, float32 as stored); prints one JSON object:
      per-tensor rank, relative Frobenius and spectral error, seconds, and the total seconds
      (loading the file included). With OUT (the file tensorize wrote), after the timed part:
      the true errors, in float64 against the weight, of NumPy's truncation and of the factors
      tensorize wrote (`<entry>.svd.u @ <entry>.svd.v`).

Why true errors: each side's reported errors come from its own float32 singular values, which
two float32 SVDs get to about 1e-6 of sigma_max, not closer. The true error of a rank-r
truncation is stationary in the subspace, so two good truncations agree to far better than that;
the true errors compare what the two programs produce, not how they round.
"""
import json
import sys
import time

import numpy as np
from safetensors.numpy import load_file, save_file


def decaying(rng, m, n):
    k = min(m, n)
    s = (1.0 + np.arange(k, dtype=np.float32)) ** -0.5
    g1 = rng.standard_normal((m, k), dtype=np.float32)
    g2 = rng.standard_normal((k, n), dtype=np.float32)
    w = (g1 * s) @ g2
    return (w * (0.02 / w.std())).astype(np.float32)


def make(out, width, layers, vocab, seed):
    rng = np.random.default_rng(seed)
    d = width
    t = {}
    for b in range(layers):
        p = f"h.{b}."
        for name, shape in [("attn.c_attn", (d, 3 * d)), ("attn.c_proj", (d, d)),
                            ("mlp.c_fc", (d, 4 * d)), ("mlp.c_proj", (4 * d, d))]:
            t[p + name + ".weight"] = decaying(rng, *shape)
            t[p + name + ".bias"] = np.zeros(shape[1], dtype=np.float32)
        for ln in ["ln_1", "ln_2"]:
            t[p + ln + ".weight"] = np.ones(d, dtype=np.float32)
            t[p + ln + ".bias"] = np.zeros(d, dtype=np.float32)
    t["wte.weight"] = decaying(rng, vocab, d)
    t["wpe.weight"] = decaying(rng, 1024, d)
    t["ln_f.weight"] = np.ones(d, dtype=np.float32)
    t["ln_f.bias"] = np.zeros(d, dtype=np.float32)
    t["position_ids"] = np.arange(1024, dtype=np.int64)[None, :]
    save_file(t, out, metadata={"format": "pt"})
    params = sum(v.size for v in t.values())
    print(f"{out}: {len(t)} tensors, {params} parameters", file=sys.stderr)


def true_errors(a, left, right):
    """Relative Frobenius and spectral error of `left @ right.T` against `a`, in float64."""
    a64 = a.astype(np.float64)
    diff = a64 - left.astype(np.float64) @ right.astype(np.float64).T
    fro = np.linalg.norm(diff) / np.linalg.norm(a64)
    spec = np.linalg.norm(diff, 2) / np.linalg.norm(a64, 2)
    return float(fro), float(spec)


def entry_of(weight):
    return weight[: -len(".weight")] if weight.endswith(".weight") else weight


def numpy_svds(path, report_path, out_path=None):
    with open(report_path) as f:
        report = json.load(f)
    ranks = {r["name"]: r["ranks"][0] for r in report["tensors"] if r["status"] == "compressed"}
    t0 = time.perf_counter()
    tensors = load_file(path)
    rows = []
    kept = {}
    for name in sorted(ranks):
        w = tensors[name]
        t1 = time.perf_counter()
        m = w.shape[0]
        a = w.reshape(m, -1)
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        r = ranks[name]
        root = np.sqrt(s[:r])
        left = u[:, :r] * root
        right = vt[:r, :].T * root
        s64 = s.astype(np.float64)
        total = np.sqrt((s64 ** 2).sum())
        tail = np.sqrt((s64[r:] ** 2).sum())
        rows.append({
            "name": name, "rank": r, "params": int(left.size + right.size),
            "rel_error": float(tail / total),
            "spectral_error": float(s64[r] / s64[0]) if r < len(s64) else 0.0,
            "seconds": time.perf_counter() - t1,
        })
        kept[name] = (left, right)
    seconds = time.perf_counter() - t0
    if out_path is not None:
        written = load_file(out_path)
        for row in rows:
            a = tensors[row["name"]].reshape(tensors[row["name"]].shape[0], -1)
            row["true_rel_error"], row["true_spectral_error"] = true_errors(a, *kept[row["name"]])
            e = entry_of(row["name"])
            u, v = written[e + ".svd.u"], written[e + ".svd.v"]
            ours = true_errors(a, u, v.reshape(v.shape[0], -1).T)
            row["tensorize_true_rel_error"], row["tensorize_true_spectral_error"] = ours
    print(json.dumps({"tensors": rows, "seconds": seconds}))


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
        make(sys.argv[2], int(args["--width"]), int(args["--layers"]), int(args["--vocab"]),
             int(args.get("--seed", 0)))
    elif cmd == "numpy":
        numpy_svds(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
