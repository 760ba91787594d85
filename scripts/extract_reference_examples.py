#!/usr/bin/env python3
"""Extracts the labelled JSON examples from the Falcon RTR API reference into a test fixture.

Usage: scripts/extract_reference_examples.py REFERENCE.md OUTPUT.json

An example is a fenced ```json block whose preceding non-blank line reads
    `DEFINITION` example (LABEL):
for instance "`domain.InitResponseWrapper` example (init 201):". DEFINITION may carry a
parenthesised note such as "domain.APIError (2023 and 2026)"; the note is kept in `note` and the
bare definition name in `definition`. The fixture is committed, so tests never read the reference
at run time; re-run this script when the reference changes.
"""

import json
import re
import sys

LABEL = re.compile(r"^`(?P<def>[A-Za-z0-9_.]+)(?: \((?P<note>[^)]*)\))?` example \((?P<label>[^)]*)\):\s*$")


def extract(text):
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = LABEL.match(lines[i].strip())
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or lines[j].strip() != "```json":
            raise SystemExit(f"line {i + 1}: label without a ```json block after it: {lines[i]!r}")
        k = j + 1
        while k < len(lines) and lines[k].strip() != "```":
            k += 1
        body = "\n".join(lines[j + 1 : k])
        try:
            example = json.loads(body)
        except json.JSONDecodeError as e:
            raise SystemExit(f"line {j + 1}: example is not valid JSON: {e}")
        out.append(
            {
                "definition": m.group("def"),
                "note": m.group("note") or "",
                "label": m.group("label"),
                "line": i + 1,
                "example": example,
            }
        )
        i = k + 1
    return out


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        examples = extract(f.read())
    if not examples:
        raise SystemExit("no labelled examples found")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"source": "falcon-rtr-api.md", "examples": examples}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{len(examples)} examples written to {sys.argv[2]}")


if __name__ == "__main__":
    main()
