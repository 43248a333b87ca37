"""Each cleaning rule on snippets of real converted FDA text."""

from rag_ft_pipeline.ingestion.cleaning import clean_text

WRAPPED = """The purpose of this guidance is to describe FDA's regulatory approach to clinical decision
support software functions. This guidance clarifies the types of CDS software functions that
are excluded from the definition of device by section 520(o)(1)(E) of the Federal Food, Drug,
and Cosmetic Act.
II. Background
In the 21st Century Cures Act, Congress amended section 520 of the FD&C Act to exclude certain
software functions from the device definition."""


def test_hard_wrapped_lines_become_paragraphs_and_headings_stay_apart():
    text, stats = clean_text(WRAPPED)
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("The purpose of this guidance") and paragraphs[0].endswith("Cosmetic Act.")
    assert "\n" not in paragraphs[0]
    assert paragraphs[1] == "II. Background"
    assert paragraphs[2].startswith("In the 21st Century Cures Act")
    assert stats.lines_joined >= 4


def test_page_furniture_and_contents_are_removed():
    pages = [
        "Contains Nonbinding Recommendations\n\nTable of Contents\nI.\nIntroduction ......................................... 1\n"
        "II. Background ............................... 3\n\ni",
        "Contains Nonbinding Recommendations\n\nSponsors should submit the protocol before the study starts.\n\n2",
        "Contains Nonbinding Recommendations\n\nThe agency reviews it within thirty days.\n\nPage 3 of 10",
    ]
    text, stats = clean_text("\f".join(pages))
    assert "Contains Nonbinding Recommendations" not in text and "....." not in text
    assert "Sponsors should submit the protocol before the study starts." in text
    assert not any(line.strip() in {"i", "2", "Page 3 of 10"} for line in text.splitlines())
    assert (stats.repeated_lines, stats.contents_lines, stats.page_numbers) == (3, 2, 3)


def test_hyphenated_words_are_rejoined_keeping_real_hyphens():
    text, stats = clean_text(
        "The sponsor should submit the infor-\nmation about the decision-\nmaking process, and decision-making\n"
        "records are kept for two years after approval of the application by the agency."
    )
    assert "information about the decision-making process" in text
    assert stats.hyphens_joined == 2


def test_a_page_break_inside_a_sentence_is_mended_and_unicode_normalized():
    text, stats = clean_text(
        "Manufacturers should establish procedures for the identiﬁcation of\n\n12\n\n"
        "Contains Nonbinding Recommendations\n\ncomponents used in the device.\n\n"
        "Contains Nonbinding Recommendations\n\nA new paragraph starts here.\n\n"
        "Contains Nonbinding Recommendations\n"
    )
    assert "identification of components used in the device." in text  # ligature ﬁ normalized
    assert text.endswith("\n\nA new paragraph starts here.")
    assert stats.page_breaks_mended == 1
