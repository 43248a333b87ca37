"""LangChain: the retriever the report found best, from the model and the index a run published.

    .venv/bin/pip install -e '.[rag]'
    .venv/bin/python examples/langchain_app.py "How fast must a fatal unexpected reaction be reported?"
    .venv/bin/python examples/langchain_app.py "..." artifacts/chroma hybrid_finetuned  # another retriever

The labels `base` and `finetuned` always name a complete index version, so this keeps working
while the pipeline updates the index and after it does.
"""

import sys

import chromadb
from langchain_chroma import Chroma
from langchain_classic.retrievers import EnsembleRetriever
from langchain_community.retrievers import BM25Retriever
from langchain_core.retrievers import BaseRetriever
from langchain_huggingface import HuggingFaceEmbeddings

from rag_ft_pipeline.retrieval.bm25 import words
from rag_ft_pipeline.retrieval.published import published_index
from rag_ft_pipeline.retrieval.search import FUSION_DEPTH, resolve


def build(chroma_path: str, name: str = "best", k: int = 5) -> BaseRetriever:
    client = chromadb.PersistentClient(chroma_path)
    retriever = resolve(client, name)  # "best": what the comparison found best, e.g. hybrid_finetuned
    index = published_index(client, retriever.model or "base")  # BM25 alone reads the base index's texts
    embeddings = HuggingFaceEmbeddings(
        model_name=index.model,
        encode_kwargs={"prompt": index.passage_prompt},  # the prompts the model was trained with:
        query_encode_kwargs={"prompt": index.query_prompt},  # without them it loses part of its gain
    )
    store = Chroma(client=client, collection_name=index.collection, embedding_function=embeddings)
    depth = FUSION_DEPTH if retriever.uses_bm25 else k  # fused as the report fused them: 100 of each
    dense = store.as_retriever(search_kwargs={"k": depth})
    if not retriever.uses_bm25:
        return dense
    stored = store.get()
    bm25 = BM25Retriever.from_texts(
        stored["documents"], stored["metadatas"], ids=stored["ids"], preprocess_func=words, k=depth
    )
    # Reciprocal rank fusion, 1 / (60 + rank), equal weights: the report's hybrid rows.
    return bm25 if retriever.model is None else EnsembleRetriever(retrievers=[dense, bm25])


if __name__ == "__main__":  # QUESTION [CHROMA_PATH] [RETRIEVER]
    question, chroma, name = [*sys.argv[1:], None, None][:3]
    for document in build(chroma or "artifacts/chroma", name or "best").invoke(question)[:5]:
        print(f"{document.metadata['doc_id']}: {document.page_content[:200]}")
