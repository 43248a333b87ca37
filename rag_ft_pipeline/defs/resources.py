"""Dagster resources: the project's folders, the embedding model, the question generator and the
vector store. Each owns what it opens: a model is loaded once per run, the Chroma client is opened
once per run and closed at its end."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

import chromadb
import dagster as dg
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from pydantic import Field, PrivateAttr
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.common.files import exclusive, lock_path
from rag_ft_pipeline.common.hashing import storage_name
from rag_ft_pipeline.questions.generator import QuestionGenerator
from rag_ft_pipeline.questions.inverse_cloze import InverseClozeGenerator
from rag_ft_pipeline.questions.llm import LLMQuestionGenerator, LLMSettings
from rag_ft_pipeline.retrieval.embedding import Prompts, load_model, model_prompts, resolve_model_path
from rag_ft_pipeline.retrieval.vector_store import COSINE
from rag_ft_pipeline.retrieval.versions import IndexVersions
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL, DEFAULT_CHROMA_PORT


class ProjectPathsResource(dg.ConfigurableResource):
    """The documents folder, the artifact root (everything the pipeline writes) and the optional
    files of questions people wrote."""

    docs_dir: str = Field(description="The documents folder (RAG_FT_DOCS_DIR).")
    artifacts_dir: str = Field(description="Everything the pipeline writes goes under here (RAG_FT_ARTIFACTS_DIR).")
    manifest: str | None = Field(default=None, description="CSV of document URLs (url,filename,sha256) to download.")
    golden_set: str | None = Field(
        default=None, description="JSON lines of human-written questions, scored beside the synthetic eval."
    )
    train_questions: str | None = Field(
        default=None,
        description="JSON lines of human-written questions (golden-set format) to train on, never to score.",
    )

    @property
    def docs_path(self) -> Path:
        return Path(self.docs_dir)

    def document(self, doc_id: str) -> Path:
        return self.docs_path / doc_id

    def artifact_dir(self, asset_name: str) -> Path:
        path = Path(self.artifacts_dir) / asset_name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def document_status_file(self) -> Path:
        return self.artifact_dir("clean_markdown") / "status.sqlite"

    def clean_text_file(self, doc_id: str) -> Path:
        return self.artifact_dir("clean_markdown") / f"{storage_name(doc_id)}.txt"

    def lock_file(self, store: str) -> Path:
        """The lock that serializes writers of a shared store across processes."""
        return lock_path(self.artifacts_dir, store)


class EmbeddingModelResource(dg.ConfigurableResource):
    """The base embedding model: any sentence-transformers hub id or local folder. Models are
    loaded once per run and shared by its steps."""

    model_name_or_path: str = Field(default=DEFAULT_BASE_MODEL, description="Hub id or local folder.")
    device: str | None = Field(default=None, description="cpu, cuda, mps; None picks the best there is.")
    batch_size: int = Field(default=32, ge=1, description="Texts encoded at once.")
    base_query_prompt: str | None = Field(
        default=None,
        description="The base model's query prompt, prepended to its queries ('' for none); unset, the one it "
        "was saved with, or BGE's instruction for BAAI/bge-*-en models. The fine-tuned model's prompts are "
        "finetuned_model's query_prompt and passage_prompt.",
    )
    _models: dict[str, SentenceTransformer] = PrivateAttr(default_factory=dict)

    def prompts(self) -> Prompts:
        """The base model's prompts (embedding.model_prompts)."""
        return model_prompts(self.load(), self.model_name_or_path, self.base_query_prompt)

    @property
    def resolved_path(self) -> str:
        return resolve_model_path(self.model_name_or_path)

    def load(self, name_or_path: str | None = None) -> SentenceTransformer:
        """The base model, or another one (a fine-tuned folder); each loads once per run."""
        key = name_or_path or self.model_name_or_path
        if key not in self._models:
            self._models[key] = load_model(key, self.device)
        return self._models[key]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._models.clear()


class QuestionGeneratorResource(dg.ConfigurableResource, LLMSettings):
    """Writes the synthetic questions: an LLM when an API key is set, else the offline generator."""

    generator: Literal["auto", "llm", "offline"] = Field(
        default="auto", description="auto: the LLM when OPENAI_API_KEY is set, else offline; or llm, or offline."
    )
    api_key: str | None = Field(default=None, description="From OPENAI_API_KEY; never logged.")
    base_url: str | None = Field(default=None, description="Any OpenAI-compatible endpoint (OPENAI_BASE_URL).")

    @property
    def uses_llm(self) -> bool:
        return bool(self.api_key) if self.generator == "auto" else self.generator == "llm"

    def build(self) -> QuestionGenerator:
        if not self.uses_llm:
            return InverseClozeGenerator()
        if not self.api_key:
            raise dg.Failure("generator 'llm' needs an API key: set OPENAI_API_KEY")
        settings = LLMSettings.model_validate(self.model_dump(include=set(LLMSettings.model_fields)))
        return LLMQuestionGenerator(settings, api_key=self.api_key, base_url=self.base_url)

    def public_settings(self) -> dict[str, Any]:
        """The settings worth showing in metadata: everything but the key."""
        return {name: value for name, value in self.model_dump().items() if name != "api_key"}


class VectorStoreResource(dg.ConfigurableResource):
    """ChromaDB: embedded and persisted under the artifact root, or a Chroma server when `host` is
    set. One client per run, closed at its end. The embedded store allows one writer at a time
    across processes (a file lock); a server arbitrates its writers itself."""

    persist_dir: str = Field(description="Where the embedded store lives.")
    host: str | None = Field(default=None, description="A Chroma server's host (RAG_FT_CHROMA_HOST); None: embedded.")
    port: int = Field(default=DEFAULT_CHROMA_PORT, description="The Chroma server's port (RAG_FT_CHROMA_PORT).")
    lock_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="How long a writer waits for another process's write to the embedded store."
    )
    _client: ClientAPI | None = PrivateAttr(default=None)

    def client(self) -> ClientAPI:
        if self._client is None:
            settings = chromadb.Settings(anonymized_telemetry=False)
            if self.host:
                self._client = chromadb.HttpClient(host=self.host, port=self.port, settings=settings)
            else:
                Path(self.persist_dir).mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=self.persist_dir, settings=settings)
        return self._client

    def collection(self, name: str) -> Collection:
        return self.client().get_or_create_collection(name, metadata=COSINE)

    def index(self, name: str) -> IndexVersions:
        """An index published whole, version by version (see retrieval.versions)."""
        return IndexVersions(self.client(), name)

    def writing(self, what: str, log: Any = None) -> AbstractContextManager[None]:
        """Hold while writing to the store: other processes' writers wait (embedded store only)."""
        if self.host:
            return nullcontext()
        lock = Path(self.persist_dir) / "rag_ft_writer.lock"
        return exclusive(lock, f"the vector store ({what})", log, self.lock_timeout_seconds)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()
