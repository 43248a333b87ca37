import pytest

from rag_ft_pipeline.common.text import sentence_spans
from rag_ft_pipeline.ingestion.chunking import chunk_document, chunk_text

SENTENCE = "The manufacturer should validate each sterilization cycle against the {n} reference load before release."


def paragraph(n_sentences: int, start: int = 0) -> str:
    return " ".join(SENTENCE.format(n=f"number {i}") for i in range(start, start + n_sentences))


def test_short_paragraphs_are_packed_together(count_tokens):
    text = "\n\n".join(paragraph(1, i) for i in range(3))
    assert chunk_text(text, 112, count_tokens) == [(0, len(text))] or count_tokens(text) > 112
    spans = chunk_text(text, 60, count_tokens)
    # Each paragraph (~20 tokens) fits, two fit together at 60, so breaks fall on paragraph breaks.
    for start, _ in spans:
        assert start == 0 or text[start - 2 : start] == "\n\n"


def test_limit_never_exceeded_and_sentences_kept_whole(count_tokens):
    text = paragraph(12)  # one long paragraph, ~240 tokens
    spans = chunk_text(text, 64, count_tokens)
    assert len(spans) > 1
    sentence_ends = {end for _, end in sentence_spans(text)}
    sentence_starts = {start for start, _ in sentence_spans(text)}
    for start, end in spans:
        assert count_tokens(text[start:end]) <= 64
        assert start in sentence_starts and end in sentence_ends


def test_sentence_over_the_limit_is_cut_and_only_then(count_tokens):
    long_sentence = "Records " + " ".join(f"item{i}" for i in range(120)) + " are kept."
    text = f"{paragraph(1)} {long_sentence} {paragraph(1, 5)}"
    spans = chunk_text(text, 40, count_tokens)
    assert all(count_tokens(text[s:e]) <= 40 for s, e in spans)
    pieces = [text[s:e] for s, e in spans]
    assert len(pieces) >= 4  # the long sentence (~250 tokens) had to be cut
    assert pieces[0] == paragraph(1)  # the short sentences stay whole, each inside one chunk
    assert pieces[-1].endswith(paragraph(1, 5))
    assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")  # nothing lost


def test_chunks_carry_metadata_and_offsets(count_tokens):
    text = "\n\n".join(paragraph(3, i * 3) for i in range(5))
    chunks = chunk_document("dir/doc.md", text, 96, count_tokens)
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert len({c.content_hash for c in chunks}) == len(chunks)
    for chunk in chunks:
        assert chunk.chunk_id == f"dir/doc.md#{chunk.chunk_index}"
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.token_count == count_tokens(chunk.text) <= 96
    assert chunk_document("dir/doc.md", text, 96, count_tokens) == chunks  # deterministic


@pytest.mark.parametrize("limit", [48, 112])
def test_real_fda_text_stays_within_limits(fda_guidance_dir, count_tokens, limit):
    from rag_ft_pipeline.ingestion.conversion import convert_document

    path = sorted(fda_guidance_dir.glob("*.md"))[2]
    text, _ = convert_document(path, fda_guidance_dir)
    chunks = chunk_document(path.name, text, limit, count_tokens)
    assert chunks and all(c.token_count <= limit and text[c.start : c.end] == c.text for c in chunks)
