import pandas as pd

from rag_ft_pipeline.splitting import split_pairs


def pairs(n_chunks: int, per_chunk: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [{"chunk_id": f"doc.md#{c}", "query": f"q{c}-{i}", "positive": f"p{c}"} for c in range(n_chunks) for i in range(per_chunk)]
    )


def test_split_is_seeded_disjoint_and_complete():
    data = pairs(200)
    split = split_pairs(data, eval_fraction=0.1, validation_fraction=0.1, seed=7)
    assert (len(split.eval), len(split.validation), len(split.train)) == (20, 18, 162)
    ids = [set(frame["chunk_id"]) for frame in (split.train, split.validation, split.eval)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(data["chunk_id"])
    again = split_pairs(data.sample(frac=1, random_state=1), eval_fraction=0.1, validation_fraction=0.1, seed=7)
    pd.testing.assert_frame_equal(again.eval, split.eval)  # row order does not matter
    other_seed = split_pairs(data, eval_fraction=0.1, validation_fraction=0.1, seed=8)
    assert set(other_seed.eval["chunk_id"]) != set(split.eval["chunk_id"])


def test_questions_of_one_chunk_stay_on_one_side():
    split = split_pairs(pairs(50, per_chunk=3), seed=1)
    for frame in (split.train, split.validation, split.eval):
        assert (frame.groupby("chunk_id").size() == 3).all()
