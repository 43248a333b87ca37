"""sentence-transformers and chromadb alone: a model's published index, searched with its prompts.

.venv/bin/python examples/sentence_transformers_app.py "How fast must a fatal unexpected reaction be reported?"
"""

import sys
from collections.abc import Callable

import chromadb
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.retrieval.published import published_index


def build(chroma_path: str, label: str = "finetuned") -> Callable[[str, int], list[tuple[str, str]]]:
    """Search the `base` or `finetuned` index: each question's top (chunk id, text) pairs."""
    client = chromadb.PersistentClient(chroma_path)
    index = published_index(client, label)
    # A fine-tuned model saved its prompts: SentenceTransformer(index.model) alone would do. Naming
    # them covers a base model too (BGE's query instruction is the pipeline's, not the model's).
    model = SentenceTransformer(index.model, prompts={"query": index.query_prompt, "document": index.passage_prompt})
    collection = client.get_collection(index.collection)

    def search(question: str, k: int = 5) -> list[tuple[str, str]]:
        found = collection.query(query_embeddings=model.encode_query([question]), n_results=k)
        return list(zip(found["ids"][0], found["documents"][0]))

    return search


if __name__ == "__main__":  # QUESTION [CHROMA_PATH] [base|finetuned]
    question, chroma, label = [*sys.argv[1:], None, None][:3]
    for chunk_id, text in build(chroma or "artifacts/chroma", label or "finetuned")(question):
        print(f"{chunk_id}: {text[:200]}")
