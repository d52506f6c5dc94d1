#!/usr/bin/env bash
# Synthesizes the phone prompts shipped with the service, once, from the one table of their
# texts (prompts/texts.tsv): espeak-ng speaks each text, sox makes it 8 kHz mono µ-law WAV
# (what a G.711 phone leg plays; half the size of 16-bit PCM), level-normalized to -3 dBFS, into
# prompts/<language>/<name>.wav. The binary embeds the result; run this again after changing a
# text (needs espeak-ng and sox: apt-get install espeak-ng sox) and commit the WAVs. With keys
# as arguments (`scripts/prompts.sh callback_offer callback_taken`) only those rows are made,
# in every language, and every other file is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

table=prompts/texts.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# espeak-ng's voice for each language (Chinese is Mandarin: its hanzi become pinyin, which the
# `cmn-latn-pinyin` voice reads as pinyin, not as English words).
voice() {
  case $1 in
    en) echo en-us ;;
    fr) echo fr-fr ;;
    zh) echo cmn-latn-pinyin ;;
    *) echo "$1" ;;
  esac
}

say() { # language name text
  local lang=$1 name=$2 text=$3
  mkdir -p "prompts/$lang"
  espeak-ng -v "$(voice "$lang")" -s 160 -w "$tmp/raw.wav" "$text"
  # Leading and trailing silence trimmed (the pauses between prompts are the player's), then
  # 8 kHz µ-law at -3 dBFS peak.
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -e u-law -b 8 "prompts/$lang/$name.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3
}

# The words the templates fill in: name_<code> per language.
declare -A names
while IFS=$'\t' read -r lang key text; do
  [[ -z $lang || $lang == \#* ]] && continue
  [[ $key == name_* ]] && names[$lang/${key#name_}]=$text
done <"$table"

only=" $* "
[[ $# -eq 0 ]] && rm -rf prompts/*/
count=0
while IFS=$'\t' read -r lang key text; do
  [[ -z $lang || $lang == \#* ]] && continue
  [[ $# -gt 0 && $only != *" $key "* ]] && continue
  case $key in
    name_*) ;;
    menu)
      for d in 0 1 2 3 4 5 6 7 8 9; do say "$lang" "menu_$d" "${text//\{d\}/$d}"; count=$((count + 1)); done ;;
    digit)
      for d in 0 1 2 3 4 5 6 7 8 9; do say "$lang" "digit_$d" "${text//\{d\}/$d}"; count=$((count + 1)); done ;;
    queue)
      for n in 1 2 3 4 5 6 7 8 9; do say "$lang" "queue_$n" "${text//\{n\}/$n}"; count=$((count + 1)); done ;;
    offer)
      for k in "${!names[@]}"; do
        [[ $k == "$lang"/* ]] || continue
        say "$lang" "offer_${k#*/}" "${text//\{name\}/${names[$k]}}"
        count=$((count + 1))
      done ;;
    *) say "$lang" "$key" "$text"; count=$((count + 1)) ;;
  esac
done <"$table"
echo "prompts.sh: $count prompts, $(cat prompts/*/*.wav | wc -c) bytes" >&2
