"""The documents say what the model cards say: docs/stance.md's figures are written from
them (make docs), so this fails when a card changed and the document was not rewritten."""
import json

from conftest import ROOT


def test_the_stance_figures_in_the_docs_are_the_model_cards(capsys):
    from pipeline.stance_train.figures import DOC, END, START, render

    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text
    assert text.split(START, 1)[1].split(END, 1)[0] == "\n" + render()


def test_the_rendered_figures_follow_the_card(tmp_path, monkeypatch):
    """A changed figure in a card shows in the rendered document."""
    import pipeline.stance_train.figures as figures
    from pipeline.stance import weights_for

    card = json.loads((weights_for("torch") / "card.json").read_text(encoding="utf-8"))
    source = next(iter(card["validation"]["slices"]))
    card["validation"]["slices"][source][card["method"]]["macro_f1"] = 0.9876
    folder = tmp_path / "minilm" / card["method"]
    folder.mkdir(parents=True)
    (folder / "card.json").write_text(json.dumps(card))
    static = json.loads((weights_for("static") / "card.json").read_text(encoding="utf-8"))
    (tmp_path / "static" / static["method"]).mkdir(parents=True)
    (tmp_path / "static" / static["method"] / "card.json").write_text(json.dumps(static))
    monkeypatch.setattr(figures, "weights_for",
                        lambda backend: tmp_path / ("static" if backend == "static" else "minilm") / card["method"])
    assert "**0.988" in figures.render() and "0.988" not in (ROOT / "docs" / "stance.md").read_text()


def test_the_readme_gives_the_thread_readers_figures_from_its_card():
    """README's stance paragraph rounds the shipped reader's card: leaving each labelled news
    thread out, the reader, the pair-at-a-time model and the 20-label learning-curve point."""
    from pipeline.stance import weights_for
    from pipeline.stance_model.thread_reader import ThreadReader

    card = ThreadReader.load(weights_for("onnx-int8")).card["leave_one_thread_out"]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"macro-F1 about {card['thread_reader']['pooled']['macro_f1']:.1f}" in readme
    assert f"one by one gets {card['pair_at_a_time']['pooled']['macro_f1']:.2f}" in readme
    assert f"came out at macro-F1 {card['learning_curve']['20']['macro_f1']:.2f}" in readme
