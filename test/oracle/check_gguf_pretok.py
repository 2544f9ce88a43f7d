#!/usr/bin/env python3
"""GGUF tokenizer.ggml.pre values against Hugging Face `tokenizers`.

    check_gguf_pretok.py QCC WORKDIR [TEXT_FILE] [--types a,b,...]
    check_gguf_pretok.py write FILE.gguf PRE    a tiny GGUF (GPT-2 regex) that says PRE

For each pre-tokenizer: trains a small byte-level BPE with `tokenizers`, using
the Split regexes a tokenizer.json of such a model has (Split "isolated" steps,
then ByteLevel without its own regex), writes it with gguf-py as a tiny llama
GGUF (tokenizer.ggml.model gpt2, tokenizer.ggml.pre NAME, tokens, merges, token
types, random weights) and compares `qcc tokenize` with `tokenizers`' encode on
varied text (a generated corpus, the texts below and TEXT_FILE if given).
Prints one line per pre-tokenizer and OK when all are identical.

The regexes are written out here independently of qcc's table (which follows
llama.cpp's spellings of them). Where llama.cpp knowingly differs from the
tokenizer.json it imitates, the texts for that pre-tokenizer leave the
difference out (see SKIP).
"""
import json
import os
import subprocess
import random
import sys
import unicodedata

import numpy as np

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
          r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
DEEPSEEK_CJK = "[一-龥ࠀ-一가-퟿]+"
DEEPSEEK_LETTERS = (  # cased letters, \u-escaped (several are canonically equivalent to others)
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+")
BLOOM = " ?[^(\\s|.,!?…。，、।۔،)]+"

# name -> (Split regexes in order, ignore_merges)
PRE = {
    "gpt-2": ([GPT2], False),
    "jina-v2-es": ([GPT2], False),
    "llama-bpe": ([LLAMA3], True),
    "qwen2": ([QWEN2], False),
    "dbrx": ([LLAMA3], False),
    "default": ([r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"], False),
    "falcon": ([r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"], False),
    "starcoder": ([r"\p{N}", GPT2], False),
    "deepseek-llm": (["[\r\n]", DEEPSEEK_LETTERS, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", DEEPSEEK_CJK,
                      r"\p{N}+"], False),
    "deepseek-coder": (["[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", DEEPSEEK_CJK, r"\p{N}"], False),
    "deepseek-v3": ([r"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                     r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"""
                     r"""| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""], False),
    "bloom": ([BLOOM], False),
    "viking": ([BLOOM, r"\p{N}"], False),
    "tekken": ([r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
                r"""|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
                r"""|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""], True),
    "chameleon": (["<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", r"\p{N}",
                   r"[\p{P}!-/:-@\[-`{-~]", GPT2], False),
}

# Characters whose split llama.cpp knowingly makes differently from the
# tokenizer.json regex, left out of that pre-tokenizer's texts:
#  - deepseek-llm/-coder: llama.cpp's classes of listed characters never match
#    non-ASCII whitespace (U+3000 lies in one of the punctuation ranges);
#  - deepseek-v3: llama.cpp does not count "~" as \p{S};
#  - tekken: llama.cpp rewrites \p{Lu}/\p{Ll} as "letter but not a-z / A-Z",
#    so only ASCII decides case (the texts have no mixed-case non-ASCII words),
#    and leaves marks (\p{M}) out of its letter runs.
# jina-v2-*: "<mask>" is an lstrip special token (the whitespace before it is
# dropped). falcon: the vocabulary has no symbol for some control bytes (as
# the real one), which are then dropped.
LSTRIP = {"jina-v2-es": "<mask>"}
MISSING_BYTES = {"falcon": [0x03, 0x0B, 0x11]}

SKIP = {
    "deepseek-llm": "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
    "deepseek-coder": "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
    "deepseek-v3": "~",
}

EXTRA = [
    "Hello world! It's 2025; we'll see. I'M HERE, YOU'RE there, they'VE gone.",
    "def f(x):\n    return x ** 2  # square\n\nif __name__ == '__main__':\n\tprint(f(3), {'a': [1, 2]})\n",
    "for (int i = 0; i < 10; ++i) { s += a[i] * b[i]; } // ~x && y || z, $HOME, a^b, `cmd`, <tag>\n",
    "0 1 12 123 1234 12345 1234567 3.14159 1,000,000 2025-02-20 0x1F \u0663\u0664\u0665 \u0966\u0967 \u00b2\u00b3 \u216b",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c6r\u00f8sk\u00f8bing stra\u00dfe \u00c9COLE \u0130stanbul",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u4e2d\u6587\u6587\u672c\uff0c\u8fd8\u6709\ud55c\uad6d\uc5b4 "
    "\ud14d\uc2a4\ud2b8\u3002\u30ab\u30bf\u30ab\u30ca\u3001\u3072\u3089\u304c\u306a\uff01\u300c\u5f15\u7528\u300d",
    "emoji \U0001F999\U0001F999 \U0001F636\u200d\U0001F32B\ufe0f \u2705 \U0001F44D\U0001F3FD \U0001F680 (normal)",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5. "
    "\u05e9\u05dc\u05d5\u05dd. \u0645\u0631\u062d\u0628\u0627\u060c \u0643\u064a\u0641\u061f \u0928\u092e\u0938\u094d\u0924\u0947\u0964",
    "  leading\n\n\n\ttabs\t\there \r\nCRLF\r\n   \n trailing   \u00a0nbsp\u3000ideo\u2028ls x\u2029 y",
    "~~~ ``` --- === ...!!!??? $100 +5 a|b ~/path 'q' \"dq\" \u00abguillemets\u00bb \u2026 \u2014dash\u2014",
    "<sentinel:7> IMGIMGABCZ IMGIMGAZ  four    spaces\n\ttab CamelCaseWord iPhone HTTPServer McDONALD'S",
    "a <mask> b  <mask>\t<mask>x <mask> <|endoftext|> ctl\x03x\x0by\x11z\x03",
]

WORDS = ["implemented", "kernel", "thermal", "the", "123", "Hello", "CamelCase"]


def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def corpus():
    """Training text: English-like sentences with numbers and code, and the texts above."""
    rng = random.Random(1)
    words = ("the of and to in is was for on that with as by it from at his an were are which this be "
             "kernel thermal quantization model layer weight token merge split byte tensor matrix value "
             "Hello World Paris London Zürich café naïve über Straße").split()
    out = []
    for _ in range(1500):
        s = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
        r = rng.random()
        if r < 0.2:
            s += f" {rng.randint(0, 10 ** rng.randint(1, 7))}"
        elif r < 0.3:
            s = f"{s.split()[0]}({rng.randint(0, 99)}, '{s.split()[-1]}');"
        elif r < 0.4:
            s += f" don't we'll it's I'm they've"
        out.append(s.capitalize() + rng.choice([".", "!", "?", ",", ":", ""]))
    return "\n".join(out) + "\n" + "\n".join(EXTRA * 5)


def train(regexes, ignore_merges, text_file, lstrip=None, missing_bytes=()):
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes] +
        [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>"] + ([lstrip] if lstrip else [])
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([text_file], trainer)
    j = json.loads(tok.to_str())
    # Whole words with no merge path to them: only ignore_merges reaches them.
    m = bytes_to_unicode()
    vocab = j["model"]["vocab"]
    for w in WORDS:
        for t in (w, " " + w):
            key = "".join(m[b] for b in t.encode())
            if key not in vocab:
                vocab[key] = len(vocab)
    j["model"]["ignore_merges"] = ignore_merges
    for a in j["added_tokens"]:
        a["lstrip"] = a["content"] == lstrip
    for b in missing_bytes:  # the id stays, under a name no text produces
        vocab[f"[unused byte {b}]"] = vocab.pop(m[b])
    return Tokenizer.from_str(json.dumps(j)), j


def write_gguf(path, name, j):
    import gguf
    vocab = j["model"]["vocab"]
    special = {a["id"]: a["content"] for a in j["added_tokens"]}
    n = max(list(vocab.values()) + list(special)) + 1
    tokens = [""] * n
    types = [gguf.TokenType.NORMAL] * n
    for t, i in vocab.items():
        tokens[i] = t
    for i, t in special.items():
        tokens[i], types[i] = t, gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    hidden, ffn, heads = 32, 64, 2
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_block_count(1)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(name)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    eot = next(iter(special))
    w.add_bos_token_id(eot)
    w.add_eos_token_id(eot)
    rng = np.random.default_rng(0)
    r = lambda *s: (rng.standard_normal(s) * 0.05).astype(np.float32)
    w.add_tensor("token_embd.weight", r(n, hidden))
    w.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    w.add_tensor("output.weight", r(n, hidden))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(hidden, np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(hidden, np.float32))
    for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{t}.weight", r(hidden, hidden))
    w.add_tensor("blk.0.ffn_gate.weight", r(ffn, hidden))
    w.add_tensor("blk.0.ffn_up.weight", r(ffn, hidden))
    w.add_tensor("blk.0.ffn_down.weight", r(hidden, ffn))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    args = sys.argv[1:]
    if args[0] == "write":
        path, pre = args[1:3]
        text_file = path + ".corpus.txt"
        with open(text_file, "w", encoding="utf-8") as f:
            f.write(corpus())
        write_gguf(path, pre, train([GPT2], False, text_file)[1])
        return 0
    types = list(PRE)
    if "--types" in args:
        i = args.index("--types")
        types = args[i + 1].split(",")
        del args[i:i + 2]
    qcc, work = args[:2]
    os.makedirs(work, exist_ok=True)
    text_file = os.path.join(work, "corpus.txt")
    with open(text_file, "w", encoding="utf-8") as f:
        f.write(corpus())
    given = [open(args[2], encoding="utf-8").read()[:20000]] if len(args) > 2 else []
    ok = True
    for name in types:
        regexes, ignore_merges = PRE[name]
        hf, j = train(regexes, ignore_merges, text_file, LSTRIP.get(name), MISSING_BYTES.get(name, ()))
        path = os.path.join(work, name + ".gguf")
        write_gguf(path, name, j)
        texts = given + EXTRA + [" ".join(WORDS), "\n".join(EXTRA), corpus()[:3000]]
        skip = SKIP.get(name, "")
        texts = ["".join(c for c in t if c not in skip and not (name == "tekken" and
                                                             unicodedata.category(c).startswith("M")))
                 for t in texts]
        same = ntok = 0
        for k, t in enumerate(texts):
            p = os.path.join(work, f"{name}.{k}.txt")
            with open(p, "w", encoding="utf-8", newline="") as f:
                f.write(t)
            got = json.loads(subprocess.run([qcc, "tokenize", path, "--text", p, "--json"], check=True,
                                            capture_output=True).stdout)
            ref = hf.encode(t, add_special_tokens=False).ids
            if got == ref:
                same += 1
                ntok += len(ref)
            else:
                i = next((x for x in range(min(len(got), len(ref))) if got[x] != ref[x]), min(len(got), len(ref)))
                print(f"{name}: text {k} MISMATCH at token {i}: qcc {got[i:i + 6]} reference {ref[i:i + 6]}")
                ok = False
        print(f"{name}: {same}/{len(texts)} texts, {ntok} tokens identical")
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
