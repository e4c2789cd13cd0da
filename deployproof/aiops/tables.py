"""Read kubectl's aligned text tables (`get … -o wide`, events) back into rows, one dict per line."""

from __future__ import annotations

import re


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every blank-line separated table in `text` as a list of rows keyed by its header's column names.

    kubectl pads every column to its header's start, so slicing at the header's word starts
    is exact even when a cell is empty or a name has a space in it (LAST SEEN, NOMINATED NODE).
    """
    tables: list[list[dict[str, str]]] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) < 2 or not lines[0].isupper() and not _looks_like_header(lines[0]):
            continue
        header = lines[0]
        starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))\S", header)]
        names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows = []
        for line in lines[1:]:
            cells = [line[a:b].strip() if b is not None else line[a:].strip() for a, b in zip(starts, starts[1:] + [None])]
            rows.append(dict(zip(names, cells)))
        tables.append(rows)
    return tables


def _looks_like_header(line: str) -> bool:
    words = line.split()
    return bool(words) and all(w.isupper() or not w.isalpha() for w in words)
