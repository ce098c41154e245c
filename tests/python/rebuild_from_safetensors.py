"""Rebuilds every dense weight of a tensorize layer file from its factors, following
docs/formats.md, with the `safetensors` package and NumPy only, and prints one line per entry:

    <name> <format> <relative error>

  rebuild_from_safetensors.py FILE
      against the dense tensor `<name>.dense` stored alongside (written by the Rust test);
  rebuild_from_safetensors.py OUT --source INPUT
      for a file `tensorize compress` wrote from INPUT: against the tensor of INPUT that the
      entry's `<name>.source` names, followed by the error the entry records (`rel_error`).

Exits 1 if an entry has no reference or a format is unknown."""

import json
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open


def chain(cores, trace=False):
    """The dense tensor of TT/TR cores [r, n, r'] (TR: trace over the closing rank)."""
    x = cores[0]
    for g in cores[1:]:
        x = np.tensordot(x, g, axes=([-1], [0]))
    if trace:
        return np.trace(x, axis1=0, axis2=-1)
    return x[0, ..., 0]


def tt_matrix(cores, rows, cols):
    x = cores[0]
    for g in cores[1:]:
        x = np.tensordot(x, g, axes=([-1], [0]))
    x = x[0, ..., 0]  # [m_1, n_1, m_2, n_2, ...]
    d = len(rows)
    x = x.transpose([2 * k for k in range(d)] + [2 * k + 1 for k in range(d)])
    return x.reshape(int(np.prod(rows)), int(np.prod(cols)))


def plain(t, meta, name):
    fmt = meta[f"{name}.format"]
    shape = json.loads(meta[f"{name}.shape"])
    if fmt == "cp":
        w = t[f"{name}.cp.weights"]
        fs = [t[f"{name}.cp.factor{k}"] for k in range(len(shape))]
        x = np.zeros(shape)
        for r in range(len(w)):
            outer = np.array(w[r], dtype=np.float64)
            for f in fs:
                outer = np.multiply.outer(outer, f[:, r])
            x = x + outer
        return x
    if fmt in ("tucker", "partial-tucker"):
        x = t[f"{name}.tucker.core"]
        modes = json.loads(meta[f"{name}.modes"]) if fmt == "partial-tucker" else list(range(len(shape)))
        for j, m in enumerate(modes):
            a = t[f"{name}.tucker.factor{j}"]
            x = np.moveaxis(np.tensordot(a, x, axes=([1], [m])), 0, m)
        return x
    if fmt in ("tt", "tr"):
        cores = [t[f"{name}.{fmt}.core{k}"] for k in range(len(shape))]
        return chain(cores, trace=(fmt == "tr"))
    if fmt == "tt-matrix":
        rows, cols = json.loads(meta[f"{name}.tensorization"])
        return tt_matrix([t[f"{name}.tt_matrix.core{k}"] for k in range(len(rows))], rows, cols)
    return None


def layer(t, meta, name):
    fmt = meta[f"{name}.format"]
    shape = json.loads(meta[f"{name}.shape"])
    f = lambda part: t[f"{name}.{part}"]
    if fmt in ("linear", "conv2d"):
        return f("weight")
    if fmt == "svd-linear":
        return np.einsum("or,ri->oi", f("svd.u"), f("svd.v"))
    if fmt == "svd-conv":
        return np.einsum("or,rihw->oihw", f("svd.u"), f("svd.v"))
    if fmt == "tucker2-conv":
        return np.einsum("op,pqhw,iq->oihw", f("tucker2.u_out"), f("tucker2.core"), f("tucker2.u_in"))
    if fmt == "cp-conv":
        return np.einsum("or,ir,hwr->oihw", f("cp.out"), f("cp.in"), f("cp.kernel"))
    if fmt == "tt-conv":
        g = [f(f"tt.core{k}") for k in range(4)]
        return np.einsum("aib,bhc,cwd,doe->oihw", *g)
    if fmt == "tt-linear":
        rows, cols = json.loads(meta[f"{name}.tensorization"])
        return tt_matrix([f(f"tt_matrix.core{k}") for k in range(len(rows))], rows, cols)
    if fmt in ("r-cp", "r-tk", "r-tt"):
        split = json.loads(meta[f"{name}.split"])
        perm = json.loads(meta[f"{name}.perm"])
        x = plain(t, meta, f"{name}.tensorized")
        x = x.reshape([split[p] for p in perm]).transpose(np.argsort(perm))
        return x.reshape(shape)
    x = plain(t, meta, name)
    if x is not None and f"{name}.weight_shape" in meta:
        # `tensorize compress`: the plain format of the reshaped, permuted weight.
        split = json.loads(meta[f"{name}.split"])
        perm = json.loads(meta[f"{name}.perm"])
        x = x.reshape([split[p] for p in perm]).transpose(np.argsort(perm))
        x = x.reshape(json.loads(meta[f"{name}.weight_shape"]))
    return x


def load(path):
    """The tensors of `path` in float64 and its metadata."""
    t = {k: v.astype(np.float64) for k, v in load_file(path).items()}
    with safe_open(path, framework="numpy") as fh:
        meta = fh.metadata() or {}
    return t, meta


def rel_diff(w, ref):
    return np.linalg.norm(w - ref) / max(np.linalg.norm(ref), 1e-300)


def against_source(path, source):
    """Each compressed entry of `path` against the tensor of `source` it replaces."""
    t, meta = load(path)
    ok = True
    with safe_open(source, framework="numpy") as original:
        for key in sorted(k for k in meta if k.endswith(".source")):
            name = key[: -len(".source")]
            ref = original.get_tensor(meta[key]).astype(np.float64)
            w = layer(t, meta, name)
            if w is None or w.shape != ref.shape:
                print(f"{name} {meta[f'{name}.format']} unknown-or-misshapen")
                ok = False
                continue
            err, recorded = rel_diff(w, ref), float(meta[f"{name}.rel_error"])
            print(f"{name} {meta[f'{name}.format']} {err:.6e} {recorded:.6e}")
    return 0 if ok else 1


def main(path):
    t, meta = load(path)
    entries = sorted(k[: -len(".format")] for k in meta if k.endswith(".format"))
    # Sub-entries (a tensorized layer's decomposition) are rebuilt through their layer.
    entries = [e for e in entries if not e.endswith(".tensorized")]
    ok = True
    for name in entries:
        fmt = meta[f"{name}.format"]
        ref = t.get(f"{name}.dense")
        w = layer(t, meta, name)
        if w is None or ref is None:
            print(f"{name} {fmt} unknown-or-no-reference")
            ok = False
            continue
        print(f"{name} {fmt} {rel_diff(w, ref):.3e}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--source":
        sys.exit(against_source(sys.argv[1], sys.argv[3]))
    sys.exit(main(sys.argv[1]))
