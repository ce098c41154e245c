#!/usr/bin/env python3
"""Writes the seeds of the readers, decompositions and formats fuzz targets (fuzz/seeds/<target>/).

Run from the repository root: `python3 fuzz/make_seeds.py`. The byte layouts follow the decoders
in fuzz/entry_points/ (one byte per choice, ByteReader semantics: `below(n)` is `byte % n`);
a seed only has to reach each branch, the fuzzer mutates the rest.
"""
import gzip
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def idx(magic_ndim, dims, payload):
    return bytes([0, 0, 8, magic_ndim]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def readers():
    images = idx(3, [2, 2, 3], range(12))
    labels = idx(1, [2], [3, 7])
    for name, (im, lb) in {
        "idx_plain": (images, labels),
        "idx_gz": (gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)),
        "idx_count_mismatch": (images, idx(1, [3], [1, 2, 3])),
    }.items():
        write("readers", name, bytes([0, len(im) >> 8, len(im) & 255]) + im + lb)
    row = ",".join(["16"] * 32 + ["0"] * 32)
    write("readers", "digits_two_rows", b"\x01" + f"{row},3\n{row},9\n".encode())
    write("readers", "digits_bad_pixel", b"\x01" + ("17," * 64 + "1\n").encode())


# Value bytes: check::value maps b >= 10 to (b - 128) / 16; a few specials below 10.
ONE, TWO, MINUS, NAN, HUGE, TINY = 144, 160, 112, 1, 4, 5


def decompositions():
    # [precision, which, order-1, dims-1..., scale, values..., parameters...]
    def seed(name, prec, which, dims, values, params):
        data = [prec, which, len(dims) - 1] + [d - 1 for d in dims] + [0]
        n = 1
        for d in dims:
            n *= d
        data += [values[i % len(values)] for i in range(n)] + params
        write("decompositions", name, data)

    vals = [ONE, TWO, MINUS, 200, 30, 77, 150]
    for which, name in enumerate(
        ["hosvd_eps", "hosvd_ranks", "hooi", "partial_tucker", "cp_als", "tt_svd_eps",
         "tt_svd_rank", "tr_svd", "tt_matrix", "tensorized_conv", "tensorized_linear",
         "rank_by_error", "rank_budget", "evbmf_musco", "allocate"]
    ):
        for prec in (0, 1):
            seed(f"{name}_f{64 if prec == 0 else 32}", prec, which, [3, 4, 2], vals,
                 [2, 3, 1, 6, 0, 2, 1, 5, 3, 2, 1, 0, 4, 2, 1, 3])
    seed("hosvd_nan", 0, 0, [2, 2], [ONE, NAN, TWO], [6])
    seed("tt_svd_huge", 0, 5, [2, 3, 2], [HUGE, ONE, TINY], [6])
    seed("cp_rank0_huge_iter", 0, 4, [3, 3], vals, [3, 0, 0, 0, 0])
    seed("order4", 0, 1, [2, 3, 2, 3], vals, [2, 2, 2, 2, 0])
    seed("order1", 0, 5, [5], vals, [6])


def formats():
    # [precision, format, then sizes and values as decoded by formats.rs]
    v = [ONE, TWO, MINUS, 200, 30]

    def vals(n):
        return [v[i % len(v)] for i in range(n)]

    # TT: d=3 (below(4)=2), inner bonds size(b) = 1 + b % 4 for b % 16 != 0, no perturbation.
    tt = [0, 0, 2, 2, 2, 1] + [2] + vals(1 * 3 * 3) + [3] + vals(3 * 4 * 3) + [1] + vals(3 * 2 * 1) + [6, 0]
    write("formats", "tt", tt)
    write("formats", "tt_f32", [1] + tt[1:])
    write("formats", "tr", [0, 1, 1, 2, 2, 1] + [2] + vals(3 * 3 * 3) + [1] + vals(3 * 2 * 3))
    write("formats", "tt_matrix", [0, 2, 1, 2, 1, 2, 3] + vals(2 * 3 * 2) + [1, 2] + vals(2 * 2 * 3) + [6])
    write("formats", "cp", [0, 3, 2, 2] + vals(2) + [1, 3] + vals(8) + [1, 2] + vals(6) + [1, 4] + vals(10))
    write("formats", "tucker", [0, 4, 1, 2, 3] + vals(6) + [1, 3] + vals(9) + [1, 4] + vals(16))
    write("formats", "tt_nan", [0, 0, 1, 2, 1] + [1] + [NAN] * 6 + [2] + vals(6))


if __name__ == "__main__":
    readers()
    decompositions()
    formats()
