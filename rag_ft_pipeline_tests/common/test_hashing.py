from rag_ft_pipeline.common.hashing import storage_name


def test_storage_names_are_safe_and_distinct():
    names = {storage_name(doc_id) for doc_id in ["a/b.md", "a_b.md", "a b.md", "é" * 300 + ".md"]}
    assert len(names) == 4
    assert all(len(name) < 100 and "/" not in name and " " not in name for name in names)
