#!/usr/bin/env python3
"""Compare `qcc tokenize` with the reference tokenizers (Hugging Face
`tokenizers` for tokenizer.json, `sentencepiece` for tokenizer.model).

    check_tokenizer.py QCC MODEL_DIR TEXT_FILE [--max-bytes N]
    check_tokenizer.py QCC --train-split DIR TEXT_FILE   train a Llama-3/Qwen2-style
        tokenizer (NFC + Split regex + ByteLevel) into DIR first, then compare
"""
import json
import os
import subprocess
import sys
import tempfile

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def train_split(out_dir, text_file):
    from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([text_file], trainer)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))


def reference_ids(model_dir, text):
    tj = os.path.join(model_dir, "tokenizer.json")
    if os.path.exists(tj):
        from tokenizers import Tokenizer
        return Tokenizer.from_file(tj).encode(text, add_special_tokens=False).ids
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    return sp.encode(text)


def main():
    args = sys.argv[1:]
    max_bytes = None
    if "--max-bytes" in args:
        i = args.index("--max-bytes")
        max_bytes = int(args[i + 1])
        del args[i:i + 2]
    qcc = args[0]
    if args[1] == "--train-split":
        model_dir, text_file = args[2], args[3]
        train_split(model_dir, text_file)
    else:
        model_dir, text_file = args[1], args[2]
    text = open(text_file, "rb").read()
    if max_bytes:
        text = text[:max_bytes]
    text = text.decode("utf-8", errors="ignore")
    # Extra strings that exercise specials, digits, unicode classes and whitespace runs.
    extra = ("<|endoftext|>Hello  world!\n\n\tTabs\u00a0nbsp 12345 3.14159 \u00e9t\u00e9 na\u00efve "
             "\u65e5\u672c\u8a9e \U0001F600 don't I'M we'll  \r\n end   ")
    ok = True
    with tempfile.TemporaryDirectory() as td:
        for name, t in (("text", text), ("extra", extra)):
            p = os.path.join(td, name + ".txt")
            with open(p, "w", encoding="utf-8", newline="") as f:
                f.write(t)
            got = json.loads(subprocess.run([qcc, "tokenize", model_dir, "--text", p, "--json"],
                                            check=True, capture_output=True).stdout)
            ref = reference_ids(model_dir, t)
            if got != ref:
                i = next((k for k in range(min(len(got), len(ref))) if got[k] != ref[k]), min(len(got), len(ref)))
                print(f"{name}: MISMATCH at token {i}: qcc {got[i:i + 8]} reference {ref[i:i + 8]} "
                      f"(lengths {len(got)} vs {len(ref)})")
                ok = False
            else:
                print(f"{name}: {len(got)} tokens identical")
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
