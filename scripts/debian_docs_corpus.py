#!/usr/bin/env python3
"""Builds a corpus of real English text from Debian documentation packages,
for measuring citebot (and its peers) at scale. Nothing here is committed data:
the packages are fetched with `apt-get download`, unpacked with `dpkg-deb`,
and their HTML, POD, reStructuredText and dictionary files turned into `.txt`
files of at most 1 MB, until the requested size is reached.

    python3 scripts/debian_docs_corpus.py OUT_DIR [--mb 100] [--cache DIR]

Needs a Debian machine with apt sources (run `apt-get update` once first).
"""

import argparse
import gzip
import html.parser
import os
import re
import shutil
import subprocess
import sys

# Large English documentation packages, in the order they are used.
PACKAGES = [
    "python3.11-doc",
    "perl-doc",
    "linux-doc-6.1",
    "dict-gcide",
    "wordnet-base",
]
CHUNK_BYTES = 1_000_000
TEXT_SUFFIXES = (".html", ".htm", ".pod", ".pm", ".rst", ".txt", ".dz", ".gz")


class HtmlText(html.parser.HTMLParser):
    """Visible text of an HTML page, a blank line between blocks."""

    BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "dd", "tr", "br", "section"}
    SKIP = {"script", "style", "nav", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)

    def text(self):
        return "".join(self.parts)


def html_to_text(raw):
    parser = HtmlText()
    parser.feed(raw)
    return parser.text()


def pod_to_text(raw):
    # POD commands and formatting codes; the prose stays.
    raw = re.sub(r"^=(\w+)\s*", "", raw, flags=re.M)
    return re.sub(r"[A-Z]<+\s*([^<>]*?)\s*>+", r"\1", raw)


def tidy(text):
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def convert(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith((".dz", ".gz")):
        try:
            data = gzip.decompress(data)
        except OSError:
            return None
        path = path[:-3]
    text = data.decode("utf-8", errors="replace")
    if path.endswith((".html", ".htm")):
        text = html_to_text(text)
    elif path.endswith((".pod", ".pm")):
        text = pod_to_text(text)
    text = tidy(text)
    words = text.split()
    # Skip indexes, binary leftovers and near-empty files.
    if len(words) < 50 or sum(w.isalpha() for w in words) < len(words) / 3:
        return None
    return text


def chunks(text):
    """Pieces of at most CHUNK_BYTES, cut at paragraph breaks."""
    start = 0
    while start < len(text):
        end = min(len(text), start + CHUNK_BYTES)
        if end < len(text):
            cut = text.rfind("\n\n", start, end)
            end = cut + 2 if cut > start else end
        yield text[start:end]
        start = end


def fetch(package, cache):
    unpacked = os.path.join(cache, package)
    if os.path.isdir(unpacked):
        return unpacked
    os.makedirs(cache, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=cache, check=True)
    deb = next(f for f in sorted(os.listdir(cache)) if f.startswith(package + "_") and f.endswith(".deb"))
    subprocess.run(["dpkg-deb", "-x", deb, package + ".tmp"], cwd=cache, check=True)
    os.rename(os.path.join(cache, package + ".tmp"), unpacked)
    return unpacked


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder to write the .txt files to (emptied first)")
    parser.add_argument("--mb", type=float, default=100, help="size to reach, in MB (default 100)")
    parser.add_argument("--cache", default="target/debian-docs", help="where packages are unpacked")
    args = parser.parse_args()
    target = int(args.mb * 1_000_000)

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    written = files = 0
    for package in PACKAGES:
        root = fetch(package, args.cache)
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = os.path.join(folder, name)
                if not name.endswith(TEXT_SUFFIXES) or os.path.islink(path):
                    continue
                text = convert(path)
                if text is None:
                    continue
                stem = re.sub(r"[^A-Za-z0-9]+", "-", os.path.relpath(path, root)).strip("-")[:120]
                for i, piece in enumerate(chunks(text)):
                    piece = piece[: target - written]
                    out = os.path.join(args.out, f"{package}--{stem}-{i}.txt")
                    with open(out, "w", encoding="utf-8") as f:
                        f.write(piece)
                    written += len(piece.encode("utf-8"))
                    files += 1
                    if written >= target:
                        print(f"{files} files, {written / 1e6:.1f} MB in {args.out}")
                        return 0
    print(f"{files} files, {written / 1e6:.1f} MB in {args.out} (all packages used; fewer than asked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
