"""Random-weight BERT-shaped models for bench/extract.ts, and PyTorch baselines on the same corpus.

Models (transformers.js layout, real bert-base-uncased vocabulary, standard ONNX export) go to
.cache/bench-models/ (git-ignored; bert-base is 440 MB):
  bert-4x256     4 layers, 256 wide, 4 heads, intermediate 1024
  minilm-6x384   MiniLM-L6 shaped: 6 layers, 384 wide, 12 heads, intermediate 1536
  bert-base      12 layers, 768 wide, 12 heads, intermediate 3072

  /tmp/venv-extract/bin/python tools/bench/make_bench_models.py            # make the models
  /tmp/venv-extract/bin/python tools/bench/make_bench_models.py --baseline bert-4x256 --corpus .cache/bench-models/corpus.txt

--baseline prints one JSON line per mode, in words/s over the corpus (all hidden states):
  neurox-loop: NeuroX's extractor loop (per-word tokenization counts, one sentence per forward pass,
               subword aggregation 'last'; its progress prints left out);
  batched:     PyTorch batches of 16, length-sorted, the same aggregation.
(bench/extract.ts writes the corpus when it first runs.)
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
import make_tiny_models as tiny  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

OUT = os.path.join(ROOT, ".cache", "bench-models")
SHAPES = {
    "bert-4x256": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "minilm-6x384": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def make(name):
    folder = os.path.join(OUT, name)
    if os.path.exists(os.path.join(folder, "onnx", "model.onnx")):
        print(f"{name}: exists")
        return
    os.makedirs(folder, exist_ok=True)
    model = BertModel(BertConfig(vocab_size=30522, max_position_embeddings=512, **SHAPES[name])).eval()
    model.config.save_pretrained(folder)
    specials = dict(unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    tiny.save_tokenizer(tiny.wordpiece_tokenizer(tiny.bert_vocab(), lowercase=True), folder, "BertTokenizer", 512, specials)
    tiny.export(model, folder, True, 14)
    torch.save(model.state_dict(), os.path.join(folder, "pytorch_weights.pt"))
    print(f"{name}: {os.path.getsize(os.path.join(folder, 'onnx', 'model.onnx')) / 1e6:.0f} MB")


def load(name):
    folder = os.path.join(OUT, name)
    model = BertModel(BertConfig.from_pretrained(folder)).eval()
    model.load_state_dict(torch.load(os.path.join(folder, "pytorch_weights.pt")))
    return model, AutoTokenizer.from_pretrained(folder)


def neurox_loop(model, tok, sentences):
    """One sentence per forward pass, as NeuroX's extract_representations does."""
    counts = {}
    special = set(tok.all_special_ids) - {tok.unk_token_id}
    words_out = 0
    with torch.no_grad():
        for sentence in sentences:
            words = sentence.split(" ")
            for i, w in enumerate(words):
                key = w if i == 0 else "a " + w
                if key not in counts:
                    ids = [x for x in tok.encode(key) if x not in special]
                    counts[key] = len(ids) - (0 if i == 0 else 1)
            ids = tok.encode(sentence, truncation=True)
            states = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
            states = np.array([h[0].numpy() for h in states])
            keep = [j for j, x in enumerate(ids) if x not in special]
            states = states[:, keep, :]
            out = np.zeros((states.shape[0], len(words), states.shape[2]), np.float32)
            at = 0
            for i, w in enumerate(words):
                n = counts[w if i == 0 else "a " + w]
                if n:
                    out[:, i, :] = states[:, at + n - 1, :]
                at += n
            words_out += len(words)
    return words_out


def batched(model, tok, sentences, batch=16):
    special = set(tok.all_special_ids) - {tok.unk_token_id}
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    words_out = 0
    with torch.no_grad():
        for b in range(0, len(order), batch):
            texts = [sentences[i] for i in order[b:b + batch]]
            enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
            states = torch.stack(model(**enc, output_hidden_states=True).hidden_states, 1).numpy()
            for r, text in enumerate(texts):
                ids = enc["input_ids"][r].tolist()
                keep = [j for j, x in enumerate(ids) if x not in special and enc["attention_mask"][r][j]]
                s = states[r][:, keep, :]
                words_out += len(text.split(" "))
                _ = s[:, -1, :]
    return words_out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--baseline", help="model name to time with PyTorch")
    p.add_argument("--corpus", default=os.path.join(OUT, "corpus.txt"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    if not args.baseline:
        for name in SHAPES:
            make(name)
        return
    torch.set_num_threads(args.threads)
    model, tok = load(args.baseline)
    sentences = [line.strip() for line in open(args.corpus, encoding="utf-8") if line.strip()]
    for mode, fn in (("neurox-loop", neurox_loop), ("batched", batched)):
        fn(model, tok, sentences[:16])  # warm-up
        t = time.perf_counter()
        words = fn(model, tok, sentences)
        seconds = time.perf_counter() - t
        print(json.dumps({"bench": "extract-pytorch", "model": args.baseline, "mode": mode, "sentences": len(sentences), "words": words,
                          "seconds": round(seconds, 2), "wordsPerSec": round(words / seconds), "threads": args.threads,
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
