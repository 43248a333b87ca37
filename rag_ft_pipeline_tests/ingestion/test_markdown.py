from rag_ft_pipeline.ingestion.markdown import strip_markdown


def test_strip_markdown_keeps_words_and_drops_syntax():
    markdown = """---
title: "Front matter"
---
# Sterility Assurance

Manufacturers **must** validate the *cycle* with ~~old~~ new [biological indicators](https://example.org/bi).
![Figure 1: process flow](figures/flow.png)

| Method | Indicator |
|--------|:---------:|
| Steam  | G. stearothermophilus |

- first item
* second item

> quoted advice

Use `snake_case_names` and __strong__ text; see <https://example.org/x>.
"""
    text = strip_markdown(markdown)
    assert "Front matter" not in text and "---" not in text
    assert text.startswith("Sterility Assurance\n\n")
    assert "Manufacturers must validate the cycle with old new biological indicators." in text
    assert "Figure 1: process flow" in text and "figures/flow.png" not in text
    assert "Method; Indicator" in text and "Steam; G. stearothermophilus" in text
    assert "first item\nsecond item" in text
    assert "quoted advice" in text and ">" not in text.replace("<", "")
    assert "snake_case_names" in text and "strong" in text and "__" not in text
    assert "https://example.org/x" in text and "(https://example.org/bi)" not in text
    for syntax in ("#", "**", "|", "`", "[", "]"):
        assert syntax not in text
