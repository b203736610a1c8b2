"""The stance figures of the docs, written from the shipped model cards, never typed by hand.

    python -m pipeline.stance_train.figures [--check]

Rewrites the part of docs/stance.md between the markers below from the cards of
the shipped methods (weights/*/*/card.json); --check only says whether the
document and the cards agree (exit 1 where they do not, as a test does).
"""
from __future__ import annotations

import argparse
import json
import sys

from pipeline.stance import weights_for
from pipeline.stance_train.data import REPO

DOC = REPO / "docs" / "stance.md"
START, END = "<!-- figures from the model cards: make docs -->", "<!-- end of figures -->"
SLICE_NAMES = {"arc": "ARC (held-out headlines)", "fnc1": "FNC-1 (held-out headlines)",
               "rumoureval": "RumourEval-2019 dev replies", "vast": "VAST dev", "perspectrum": "Perspectrum dev",
               "reddit": "Reddit agreement (held-out fifth)"}


def slice_table(card: dict) -> list[str]:
    slices = card["validation"]["slices"]
    names = list(next(iter(slices.values())))
    shipped = card["method"]
    head = ["slice", "majority"] + [f"**{n}** (shipped)" if n == shipped else n for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s, by_method in slices.items():
        first = by_method[names[0]]
        cells = [f"{SLICE_NAMES.get(s, s)}, n={first['n']:,}", f"{first['majority_macro_f1']:.3f}"]
        for n in names:
            r = by_method[n]
            cell = f"{r['macro_f1']:.3f}" + (f" / {r['fnc_score']:.1f}" if "fnc_score" in r else "")
            cell += f" (ECE {r['ece15']:.3f})"
            cells.append(f"**{cell}**" if n == shipped else cell)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def exceptions(card: dict) -> list[str]:
    """The slices where a baseline's macro-F1 is above the shipped method's."""
    own, out = card["method"], []
    for s, by_method in card["validation"]["slices"].items():
        mine = by_method[own]["macro_f1"]
        for name, r in by_method.items():
            if name != own and r["macro_f1"] > mine:
                out.append(f"- {SLICE_NAMES.get(s, s)}: {own} {mine:.3f}, below {name} {r['macro_f1']:.3f} "
                           f"(by {r['macro_f1'] - mine:.3f})")
    return out or [f"- none: {own} is at or above every baseline on every slice"]


def pipeline_lines(card: dict) -> list[str]:
    out = []
    for name, checks in card["validation"]["pipeline"].items():
        parts = []
        if "obvious" in checks:
            o = checks["obvious"]
            parts.append(f"obvious cases {o['stance_correct']}/{o['n']} (replies {o['reply_correct']}/{o['n_reply']})")
        real = checks.get("real_dump")
        if real and "stance" in real:
            s = real["stance"]
            kappa = " / ".join(f"{k:.2f}" for k in real["agreement"]["model_stance_kappa"])
            parts.append(f"real dump accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f} (always "
                         f"{s['majority_label']}: {s['majority_accuracy']:.3f} and {s['majority_macro_f1']:.3f}), "
                         f"kappa with the annotators {kappa}")
            if "reply" in real:
                parts.append(f"real-dump reply stance accuracy {real['reply']['accuracy']:.3f} "
                             f"(majority {real['reply']['majority_accuracy']:.3f})")
        if "rumour_threads" in checks:
            r = checks["rumour_threads"]
            parts.append(f"RumourEval dev threads read as dumps, SDQC macro-F1 {r['macro_f1']:.3f} "
                         f"(majority {r['majority_macro_f1']:.3f})")
        out.append(f"- {name}: " + "; ".join(parts) + ".")
    return out


def render() -> str:
    lines = []
    for backend, what in (("torch", "MiniLM's vectors (embed.backend torch, onnx, onnx-int8)"),
                          ("static", "the fast mode's static vectors (embed.backend static)")):
        card = json.loads((weights_for(backend) / "card.json").read_text(encoding="utf-8"))
        training = card.get("training", {})
        lines += [f"### {card['name']} {card['version']}, on {what}", "",
                  f"Trained in {training.get('seconds', '?')} s on {training.get('hardware', '?')}. "
                  "Macro-F1 in each source's own labels (FNC-1 score after the slash), ECE over 15 bins; "
                  "the baselines were trained in the same run on the same splits.", ""]
        lines += slice_table(card) + ["", "Where a baseline is above it:", ""] + exceptions(card)
        lines += ["", "Through the pipeline's stance stage (five labels; replies toward the comment answered):", ""]
        lines += pipeline_lines(card) + [""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    new = f"{before}{START}\n{render()}{END}{after}"
    if args.check:
        if new != text:
            print(f"{DOC.relative_to(REPO)}: the figures differ from the model cards (run make docs)", file=sys.stderr)
            raise SystemExit(1)
        return
    DOC.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
