"""Chroma's own embedding function: a model's published index, queried by text with its prompts.

.venv/bin/python examples/chroma_app.py "How fast must a fatal unexpected reaction be reported?"
"""

import sys

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

from rag_ft_pipeline.retrieval.published import published_index


class PromptedEmbeddingFunction(SentenceTransformerEmbeddingFunction):
    """Chroma's function embeds documents and queries alike, with no prompt; this one puts the
    model's passage prompt before documents and its query prompt before `query_texts`."""

    def __call__(self, input: list[str]) -> list:
        return list(self._model.encode_document(list(input), normalize_embeddings=True))

    def embed_query(self, input: list[str]) -> list:
        return list(self._model.encode_query(list(input), normalize_embeddings=True))


def build(chroma_path: str, label: str = "finetuned") -> Collection:
    """The `base` or `finetuned` index, ready for `query(query_texts=...)` and `add(documents=...)`."""
    client = chromadb.PersistentClient(chroma_path)
    index = published_index(client, label)
    prompts = {"query": index.query_prompt, "document": index.passage_prompt}
    function = PromptedEmbeddingFunction(model_name=index.model, prompts=prompts)
    return client.get_collection(index.collection, embedding_function=function)


if __name__ == "__main__":  # QUESTION [CHROMA_PATH] [base|finetuned]
    question, chroma, label = [*sys.argv[1:], None, None][:3]
    found = build(chroma or "artifacts/chroma", label or "finetuned").query(query_texts=[question], n_results=5)
    for chunk_id, text in zip(found["ids"][0], found["documents"][0]):
        print(f"{chunk_id}: {text[:200]}")
