"""What compressing all-MiniLM-L6-v2 costs its sentence embeddings, read back by another framework.

  minilm_fidelity.py MODEL_DIR OUT.safetensors [OUT.safetensors ...]

MODEL_DIR is the model folder that `real_checkpoint.py minilm` writes; each OUT is what
`tensorize compress` wrote from MODEL_DIR/model.safetensors. Every compressed entry of OUT is
rebuilt to its dense weight with NumPy by tests/python/rebuild_from_safetensors.py (the
documented naming scheme of docs/formats.md, nothing of tensorize's own code), put into the
original PyTorch BertModel (transformers) in place of the tensor named by its `.source`, and the
model embeds a fixed set of real sentences: the lines of the Zen of Python and the sentences of
the model's own README, mean-pooled and normalized as sentence-transformers does for this model.

Prints one markdown row per OUT: the mean and the lowest cosine similarity between each
sentence's original and compressed embedding; the Spearman correlation between the original and
compressed similarities of all sentence pairs (what a semantic search ranks by); and how often the
nearest other sentence stays the same (top-1 agreement). Needs torch, transformers, safetensors
and NumPy (the venv of `scripts/python-env nn` plus `pip install transformers`).
"""
import codecs
import contextlib
import io
import re
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, BertModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from rebuild_from_safetensors import layer, load  # noqa: E402


def sentences(model_dir):
    """The Zen of Python's lines and the model README's prose sentences, in a fixed order."""
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # prints the Zen on import; its text is in this.s, rot13-encoded

    zen = [l.strip() for l in codecs.decode(this.s, "rot13").splitlines()[2:] if l.strip()]
    text = (Path(model_dir) / "README.md").read_text()
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code blocks
    text = re.sub(r"^---.*?---", " ", text, flags=re.S)  # front matter
    prose = []
    for line in text.splitlines():
        if line.startswith(("#", "|", "-", "*", "<", "[")):
            continue
        prose += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 5]
    return zen + prose


def embed(model, tokenizer, texts):
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1).numpy().astype(np.float64)


def rebuilt_state(original, out):
    """The original state dict with every compressed entry of `out` rebuilt to its dense weight."""
    state = {k: v.clone() for k, v in original.items()}
    tensors, meta = load(out)
    replaced = 0
    for key, source in meta.items():
        if not key.endswith(".source"):
            continue
        name = key[: -len(".source")]
        w = layer(tensors, meta, name)
        target = state[source]
        state[source] = torch.from_numpy(w.reshape(target.shape)).to(target.dtype)
        replaced += 1
    return state, replaced


def ranks(x):
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def main(model_dir, outs):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir).eval()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    texts = sentences(model_dir)
    base = embed(model, tokenizer, texts)
    pairs = np.triu_indices(len(texts), 1)
    base_sim = (base @ base.T)[pairs]
    base_nn = np.argmax(base @ base.T - 2 * np.eye(len(texts)), axis=1)
    print(f"{len(texts)} sentences, {len(base_sim)} pairs")
    print("| file | layers rebuilt | cosine to original (mean / min) | Spearman of pair similarities "
          "| same nearest sentence |")
    print("|---|---:|---|---:|---:|")
    for out in outs:
        state, replaced = rebuilt_state(original, out)
        model.load_state_dict(state)
        emb = embed(model, tokenizer, texts)
        cos = np.sum(emb * base, axis=1)
        sim = (emb @ emb.T)[pairs]
        spearman = np.corrcoef(ranks(base_sim), ranks(sim))[0, 1]
        nn = np.argmax(emb @ emb.T - 2 * np.eye(len(texts)), axis=1)
        print(f"| {Path(out).name} | {replaced} | {cos.mean():.4f} / {cos.min():.4f} | "
              f"{spearman:.4f} | {np.mean(nn == base_nn) * 100:.1f} % |")
        model.load_state_dict(original)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
