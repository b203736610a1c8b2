from conftest import REAL_DUMP, needs_shared
from pipeline.clean import clean_comments
from pipeline.ingest import parse_dump
from pipeline.replies import infer_reply_targets


def targets_of(path, nlp, config):
    thread = parse_dump(path.read_bytes(), str(path))
    cleaned = clean_comments(thread.comments, thread.article, config["clean"], nlp)
    by_id = {c.id: c for c in thread.comments}
    return thread, by_id, infer_reply_targets(thread.comments, cleaned)


def test_mentions_and_capped_runs_in_the_example(nlp, config, example_thread):
    from conftest import EXAMPLE_DUMP

    thread, by_id, targets = targets_of(EXAMPLE_DUMP, nlp, config)
    # Oskar and Mike argue at one level; each @mention points at the other's latest comment
    top = next(c for c in thread.comments if c.text.startswith("Cyclists don\u2019t pay road tax"))
    run = [c for c in thread.comments if c.position > top.position and c.depth >= 1][:4]
    assert [c.author for c in run] == ["Oskar Lind", "Mike O\u2019Neil"] * 2
    assert [targets[c.id] for c in run[1:]] == [(run[0].id, "mention"), (run[1].id, "mention"),
                                                (run[2].id, "mention")]
    # at the deepest level Sam's answer to Bill's question hangs under Sam's own comment
    sam = next(c for c in thread.comments if c.text.startswith("Here\u2019s one summary"))
    bill = next(c for c in thread.comments if c.text.startswith("Which studies?"))
    assert targets[sam.id] == (bill.id, "capped_run")
    # a sibling who had not spoken before answers the parent, and top level answers the article
    priya = next(c for c in thread.comments if c.text.startswith("Agreed with Marta"))
    assert targets[priya.id] == (priya.parent_id, "parent")
    assert targets[thread.comments[0].id] == (None, "article")


@needs_shared
def test_capped_run_in_the_real_dump_pairs_each_reply_with_the_one_before(nlp, config):
    thread, by_id, targets = targets_of(REAL_DUMP, nlp, config)
    parent = next(c for c in thread.comments
                  if sum(1 for r in thread.comments if r.parent_id == c.id and r.depth == 4) == 7)
    run = [c for c in thread.comments if c.parent_id == parent.id]
    assert len({c.author for c in run}) == 2
    assert targets[run[0].id] == (parent.id, "parent")
    assert [targets[c.id] for c in run[1:]] == [(prev.id, "capped_run") for prev in run[:-1]]


def test_names_that_differ_only_by_invisible_characters_are_one_author(nlp, config):
    from pipeline.records import Article, Comment

    def thread(*comments):  # (id, parent, depth, author, text)
        return [Comment(id=i, parent_id=p, depth=d, author=a, text=t, line=n + 1, position=n)
                for n, (i, p, d, a, t) in enumerate(comments)]

    article = Article(id="a", title="Elm Street closes to cars", paragraphs=(), source="x.txt")
    # Sam wrote the parent, so "S\u200bam" at the capped depth answers Bill before him
    capped = thread(("t", None, 0, "Sam", "The lane is a good idea."),
                    ("b", "t", 1, "Bill", "Which studies say so?"),
                    ("s", "t", 1, "S\u200bam", "The city's own traffic counts."))
    # "@Lena" addresses the author written with a right-to-left override around the name
    mention = thread(("l", None, 0, "\u202eLena\u202c", "Shops will lose customers."),
                     ("b", "l", 1, "Bill", "Not in other cities."),
                     ("n", "b", 2, "Ann", "@Lena the counts say otherwise."))
    for comments, expected in ((capped, {"s": ("b", "capped_run")}), (mention, {"n": ("l", "mention")})):
        cleaned = clean_comments(comments, article, config["clean"], nlp)
        targets = infer_reply_targets(comments, cleaned)
        assert {k: targets[k] for k in expected} == expected
