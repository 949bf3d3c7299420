"""Word statistics for plain-text files: the sample CanvasEdit opens in its README.

Try it: select the body of `top_words`, press alt+up to grow the selection to the whole
function, ctrl+b to mask it, then ctrl+g to let the model write it again. Tab accepts,
Esc rejects, ctrl+z undoes an accepted fill.

    python example.py notes.txt --top 5
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Stats:
    """Counts for one text."""

    lines: int
    words: int
    characters: int
    counts: Counter[str]

    @property
    def average_word_length(self) -> float:
        total = sum(len(word) * n for word, n in self.counts.items())
        return total / self.words if self.words else 0.0


def read_stats(text: str) -> Stats:
    """Count lines, words and characters, and how often each word occurs."""
    words = [word.lower() for word in WORD.findall(text)]
    return Stats(
        lines=text.count("\n") + (not text.endswith("\n") and bool(text)),
        words=len(words),
        characters=len(text),
        counts=Counter(words),
    )


def top_words(stats: Stats, n: int = 10) -> list[tuple[str, int]]:
    """The n most frequent words, most frequent first, ties in alphabetical order."""
    ranked = sorted(stats.counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a UTF-8 text file")
    parser.add_argument("--top", type=int, default=10, help="how many words to list")
    args = parser.parse_args(argv)
    stats = read_stats(args.path.read_text(encoding="utf-8"))
    print(f"{stats.lines} lines, {stats.words} words, {stats.characters} characters")
    print(f"average word length: {stats.average_word_length:.2f}")
    for word, count in top_words(stats, args.top):
        print(f"{count:6d}  {word}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
