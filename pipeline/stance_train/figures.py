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
            parts.append(f"RumourEval dev replies, each alone under its source (3.0's check), SDQC macro-F1 {r['macro_f1']:.3f} "
                         f"(majority {r['majority_macro_f1']:.3f})")
        out.append(f"- {name}: " + "; ".join(parts) + ".")
    return out


def reader_lines(reader: dict, defer_above: float | None = None, rumour_replies: bool = True) -> list[str]:
    """The thread reader's card: each thread slice, the reader beside the pair-at-a-time path
    (`defer_above`: the reader file's threshold for leaving a thread to the pair model;
    `rumour_replies`: whether the file has the regression such a thread is read with)."""
    loo = reader["leave_one_thread_out"]
    defers = (f" A thread whose comments read as replies to a rumour post (the pair model's domain model: "
              f"mean RumourEval share {defer_above:.2f} or more) is left to the pair model, read by its "
              "RumourEval head" + (" times a regression of rumour replies fitted on RumourEval's train threads"
                                   if rumour_replies else " alone") + "."
              if defer_above is not None and defer_above <= 1 else "")
    lines = [f"Thread reader {reader.get('version', '?')} (stance.thread: true, the default), fitted on "
             f"{reader.get('fitted_on', '?')}, on {reader.get('embed_backend', '?')} vectors; the pair-at-a-time "
             "path is stance.thread: false, comment-stance 3.0 alone." + defers,
             "", "| thread slice | thread reader | pair at a time | baseline |", "| --- | --- | --- | --- |"]
    ours, pair = loo["thread_reader"], loo["pair_at_a_time"]
    lines.append(f"| news threads ({len(loo['threads'])} Fox sections, labels two outside passes agreed on, "
                 f"n={ours['pooled']['n']}), each read by a reader fitted without it: macro-F1 over agree / "
                 f"disagree / discuss / unrelated (accuracy) | **{ours['pooled']['macro_f1']:.3f}** "
                 f"({ours['pooled']['accuracy']:.3f}) | {pair['pooled']['macro_f1']:.3f} ({pair['pooled']['accuracy']:.3f})"
                 f" | always agree {ours['always_agree']['macro_f1']:.3f} ({ours['always_agree']['accuracy']:.3f}) |")
    lines.append(f"| the same threads, reply stance toward the comment answered, macro-F1 (n={ours['reply']['n']}) "
                 f"| {ours['reply']['macro_f1']:.3f} | {pair['reply']['macro_f1']:.3f} | |")
    rumours = reader.get("rumour_dev_threads") or {}
    if rumours:
        r, p = rumours["thread_reader"], rumours["pair_at_a_time"]
        lines.append(f"| RumourEval-2019 dev threads read as dumps, SDQC macro-F1 (n={r['n']}) | "
                     f"{r['macro_f1']:.3f} | {p['macro_f1']:.3f} | majority {r['majority_macro_f1']:.3f} |")
    iac = reader.get("iac_validation_authors") or {}
    if iac.get("thread_reader"):
        r, p = iac["thread_reader"], iac["pair_at_a_time"]
        lines.append(f"| IAC validation discussions ({r['discussions']}), each labelled author's stance toward the "
                     f"topic from their posts, macro-F1 pro / anti (n={r['n']} authors) | {r['macro_f1']:.3f} | "
                     f"{p['macro_f1']:.3f} | majority {r['majority_macro_f1']:.3f} |")
    real = reader.get("real_dump")
    if real and "stance" in real:
        st = real["stance"]
        lines.append(f"| the real dump, our labels (team labels, two passes), macro-F1 over the five (accuracy), n={st['n']} "
                     f"| {st['macro_f1']:.3f} ({st['accuracy']:.3f}) | the pair model's line above (torch vectors) | always {st['majority_label']} "
                     f"{st['majority_macro_f1']:.3f} ({st['majority_accuracy']:.3f}) |")
    lines += ["", "By thread (macro-F1 / accuracy), reader and pair at a time: " + "; ".join(
        f"{t} {ours['by_thread'][t]['macro_f1']:.3f} / {ours['by_thread'][t]['accuracy']:.3f} and "
        f"{pair['by_thread'][t]['macro_f1']:.3f} / {pair['by_thread'][t]['accuracy']:.3f}" for t in loo["threads"]) + "."]
    if "ece15" in ours["pooled"]:
        p = ours["pooled"]
        lines += ["", f"Its confidence on those threads (temperature fitted on the training threads): ECE over 15 bins "
                  f"{p['ece15']:.3f}; {p['unsure_share']:.0%} of the stances below 0.5 (the report's unsure share), "
                  f"{p['accuracy_when_sure']:.0%} right at 0.5 or above against {p['accuracy']:.0%} over all."]
    curve = loo.get("learning_curve")
    if curve:
        lines += ["", "Adapted to a thread's own labels (stance.labels; each news thread, its reader fitted "
                  "without it, k of its labelled comments drawn five times, the rest scored), macro-F1 "
                  "(in brackets: the same reader without the labels, on the same comments): "
                  + ", ".join(f"{k} labels {m['macro_f1']:.3f}" + (f" ({m['unadapted_macro_f1']:.3f})"
                                                                  if "unadapted_macro_f1" in m else "")
                              for k, m in curve.items()) + "."]
    return lines


def render() -> str:
    lines = []
    for backend, what in (("torch", "MiniLM's vectors (embed.backend torch, torch-bf16, onnx, onnx-int8)"),
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
        reader = json.loads(path.read_text(encoding="utf-8")) if (path := weights_for(backend) / "thread_reader.json"
                                                                  ).is_file() else None
        if reader and reader.get("card", {}).get("leave_one_thread_out"):
            lines += reader_lines(reader["card"], reader.get("sides", {}).get("defer_above"),
                                  "rumour_replies" in reader) + [""]
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
