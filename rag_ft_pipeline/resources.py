"""Dagster resources: the embedding model, the question generator and the vector store."""

from __future__ import annotations

from pathlib import Path

import chromadb
import dagster as dg
from chromadb.api import ClientAPI
from pydantic import Field
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.embedding import default_query_prompt, load_model, resolve_model_path
from rag_ft_pipeline.questions import InverseClozeGenerator, QuestionGenerator
from rag_ft_pipeline.settings import DEFAULT_BASE_MODEL


class EmbeddingModelResource(dg.ConfigurableResource):
    """The base embedding model: any sentence-transformers hub id or local folder."""

    model_name_or_path: str = Field(default=DEFAULT_BASE_MODEL, description="Hub id or local path.")
    device: str | None = Field(default=None, description="cpu, cuda, mps; None picks the best there is.")
    batch_size: int = 32
    query_prompt: str | None = Field(
        default=None,
        description="Prepended to queries (never passages) in training, indexing and evaluation; "
        "defaults to BGE's instruction for BAAI/bge-*-en models, else none.",
    )

    @property
    def effective_query_prompt(self) -> str | None:
        return self.query_prompt if self.query_prompt is not None else default_query_prompt(self.model_name_or_path)

    @property
    def resolved_path(self) -> str:
        return resolve_model_path(self.model_name_or_path)

    def load(self) -> SentenceTransformer:
        return load_model(self.model_name_or_path, self.device)


class QuestionGeneratorResource(dg.ConfigurableResource):
    """Writes the synthetic questions: an LLM when an API key is set, else the offline inverse cloze task."""

    generator: str = Field(default="auto", description="auto, llm or inverse_cloze.")
    api_key: str | None = Field(default=None, description="From OPENAI_API_KEY; never logged.")
    base_url: str | None = Field(default=None, description="Any OpenAI-compatible endpoint (OPENAI_BASE_URL).")
    llm_model: str = "gpt-4o-mini"
    temperature: float = 0.2
    instructor_mode: str = Field(default="tools", description="tools, or json for servers without tool calling.")
    domain: str = Field(default="regulatory guidance documents", description="Named in the prompt's expert persona.")
    questions_per_chunk: int = 1
    concurrency: int = Field(default=8, description="Requests in flight at once; lower it for tight rate limits.")
    max_retries: int = Field(default=3, description="Per request, on 429, 5xx, timeouts and invalid output.")
    timeout_seconds: float = 60.0
    usd_per_million_input_tokens: float = Field(default=0.15, description="For cost estimates (gpt-4o-mini prices).")
    usd_per_million_output_tokens: float = 0.60

    @property
    def uses_llm(self) -> bool:
        if self.generator == "auto":
            return bool(self.api_key)
        return self.generator == "llm"

    def build(self) -> QuestionGenerator:
        if not self.uses_llm:
            return InverseClozeGenerator()
        if not self.api_key:
            raise ValueError("generator 'llm' needs an API key: set OPENAI_API_KEY")
        from rag_ft_pipeline.llm_questions import LLMQuestionGenerator

        return LLMQuestionGenerator(
            model=self.llm_model, api_key=self.api_key, base_url=self.base_url,
            temperature=self.temperature, mode=self.instructor_mode, domain=self.domain,
            questions_per_chunk=self.questions_per_chunk, concurrency=self.concurrency,
            max_retries=self.max_retries, timeout_seconds=self.timeout_seconds,
            usd_per_million_input_tokens=self.usd_per_million_input_tokens,
            usd_per_million_output_tokens=self.usd_per_million_output_tokens,
        )

    def public_settings(self) -> dict[str, str | int | float | None]:
        """The settings worth showing in metadata: everything but the key."""
        return {name: value for name, value in self.model_dump().items() if name != "api_key"}


class VectorStoreResource(dg.ConfigurableResource):
    """ChromaDB: embedded and persisted under the artifact root, or a Chroma server when `host` is set."""

    persist_dir: str
    host: str | None = Field(default=None, description="A Chroma server's host (RAG_FT_CHROMA_HOST); None: embedded.")
    port: int = Field(default=8000, description="The Chroma server's port (RAG_FT_CHROMA_PORT).")

    def client(self) -> ClientAPI:
        settings = chromadb.Settings(anonymized_telemetry=False)
        if self.host:
            return chromadb.HttpClient(host=self.host, port=self.port, settings=settings)
        Path(self.persist_dir).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=self.persist_dir, settings=settings)

    def collection(self, name: str):
        return self.client().get_or_create_collection(name, metadata={"hnsw:space": "cosine"})
