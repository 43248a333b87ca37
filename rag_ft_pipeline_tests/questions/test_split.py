import pandas as pd
import pytest

from rag_ft_pipeline.questions.split import SplitSettings, leakage, split_pairs


def pairs(n_chunks: int, per_chunk: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"chunk_id": f"doc.md#{c}", "query": f"q{c}-{i}", "positive": f"p{c}"}
            for c in range(n_chunks)
            for i in range(per_chunk)
        ]
    )


def test_split_is_seeded_disjoint_and_complete():
    data = pairs(200)
    split = split_pairs(data, SplitSettings(eval_fraction=0.1, validation_fraction=0.1, split_seed=7))
    assert (len(split.eval), len(split.validation), len(split.train)) == (20, 18, 162)
    ids = [set(frame["chunk_id"]) for frame in (split.train, split.validation, split.eval)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(data["chunk_id"])
    again = split_pairs(data.sample(frac=1, random_state=1), SplitSettings(split_seed=7))
    pd.testing.assert_frame_equal(again.eval, split.eval)  # row order does not matter
    other_seed = split_pairs(data, SplitSettings(split_seed=8))
    assert set(other_seed.eval["chunk_id"]) != set(split.eval["chunk_id"])


def test_questions_of_one_chunk_stay_on_one_side():
    split = split_pairs(pairs(50, per_chunk=3), SplitSettings(split_seed=1))
    for frame in (split.train, split.validation, split.eval):
        assert (frame.groupby("chunk_id").size() == 3).all()


def test_leakage_check_fails_on_a_leaking_split():
    data = pd.DataFrame(
        [{"chunk_id": f"d{d}.md#{c}", "doc_id": f"d{d}.md", "query": f"q{d}-{c}"} for d in range(10) for c in range(3)]
    )
    by_document = split_pairs(data, SplitSettings(split_by="document", eval_fraction=0.2, split_seed=3))
    assert by_document.eval.attrs["split_by"] == "document"
    seen = pd.concat([by_document.train, by_document.validation])
    assert not any(leakage(by_document.eval, seen, by_document=True).values())
    by_pair = split_pairs(data, SplitSettings(eval_fraction=0.2, split_seed=3))
    leaks = leakage(by_pair.eval, pd.concat([by_pair.train, by_pair.validation]), by_document=True)
    assert leaks["shared_documents"] and not leaks["shared_chunks"]  # a pair split mixes documents
    leaking = pd.concat([by_pair.train, by_pair.eval.iloc[:1]])
    assert leakage(by_pair.eval, leaking, by_document=False)["shared_chunks"] == {by_pair.eval.iloc[0]["chunk_id"]}
    golden = [by_pair.train.iloc[0]["query"], "a question nobody trained on"]
    assert leakage(by_pair.eval, by_pair.train, False, golden)["golden_questions_trained_on"] == {golden[0]}


def test_a_split_choice_outside_its_options_is_refused():
    with pytest.raises(ValueError, match="split_by"):
        SplitSettings(split_by="chapter")
