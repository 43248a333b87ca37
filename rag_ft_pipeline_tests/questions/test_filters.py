import pandas as pd

from rag_ft_pipeline.common.text import longest_shared_word_run
from rag_ft_pipeline.questions.filters import FilterReport, FilterSettings, filter_pairs

CHUNKS = {
    "a#0": "Steam sterilizers must hold the chamber at 121 degrees Celsius for fifteen minutes to kill spores in a full load.",
    "b#0": "Adverse drug reactions that are serious and unexpected are reported to the agency within fifteen calendar days.",
    "c#0": "Drug facts labels print directions in a minimum type size so that older consumers can read them.",
}


def test_longest_shared_word_run():
    assert longest_shared_word_run("How long must the chamber be held?", "The chamber must be HELD at 121") == 2
    assert longest_shared_word_run("Why is it held at 121 degrees here?", "It is held at 121 degrees.") == 4
    assert longest_shared_word_run("nothing in common", "at all") == 0


def test_each_filter_counts_what_it_removed():
    pairs = pd.DataFrame(
        [
            {"chunk_id": "a#0", "query": "Why is a sterilizer load held at temperature for a while?"},
            {"chunk_id": "a#0", "query": "  "},
            {"chunk_id": "b#0", "query": "What is reported?"},
            {"chunk_id": "c#0", "query": "What is reported?"},
            {
                "chunk_id": "b#0",
                "query": "serious and unexpected are reported to the agency within fifteen calendar days?",
            },
            {"chunk_id": "c#0", "query": "Why do drug labels use a minimum type size?"},
        ]
    )
    report = FilterReport()
    kept = filter_pairs(pairs, CHUNKS, report, check_copying=True, settings=FilterSettings(max_copied_words=8))
    assert kept["query"].tolist() == [
        "Why is a sterilizer load held at temperature for a while?",
        "Why do drug labels use a minimum type size?",
    ]
    assert report.removed == {"empty": 1, "duplicate": 2, "copies_chunk": 1}
    assert report.examples["copies_chunk"] == [pairs.loc[4, "query"]]
    assert set(report.table()["filter"]) == {"empty", "duplicate", "copies_chunk"}


def test_extractive_generators_skip_the_copy_filter_and_round_trip_uses_the_model(base_model):
    pairs = pd.DataFrame(
        [
            {"chunk_id": "a#0", "query": "How hot must a steam sterilizer chamber be held to kill spores?"},
            {
                "chunk_id": "b#0",
                "query": "How hot must a steam sterilizer chamber be held to kill bacteria?",
            },  # points at a#0
            {"chunk_id": "c#0", "query": CHUNKS["c#0"]},
        ]
    )
    report = FilterReport()
    kept = filter_pairs(
        pairs, CHUNKS, report, check_copying=False, settings=FilterSettings(round_trip_top_k=1), model=base_model
    )
    assert kept["chunk_id"].tolist() == ["a#0", "c#0"]
    assert report.removed["round_trip_top1"] == 1 and "copies_chunk" not in report.removed
