"""LlamaIndex: the retriever the report found best, from the model and the index a run published.

.venv/bin/pip install -e '.[rag]'
.venv/bin/python examples/llamaindex_app.py "How fast must a fatal unexpected reaction be reported?"
"""

import sys

import chromadb
from llama_index.core import QueryBundle, VectorStoreIndex
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag_ft_pipeline.retrieval.fusion import reciprocal_rank_fusion
from rag_ft_pipeline.retrieval.published import published_index
from rag_ft_pipeline.retrieval.search import FUSION_DEPTH, resolve


class FusedRetriever(BaseRetriever):
    """Reciprocal rank fusion by node id. (QueryFusionRetriever matches nodes by a hash of their
    text and metadata, and Chroma returns metadata keys in no fixed order, so the same chunk from
    the two retrievers would often count as two.) BM25's zero-score hits match no word: left out."""

    def __init__(self, retrievers: list[BaseRetriever]) -> None:
        super().__init__()
        self.retrievers = retrievers

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        rankings = [[hit for hit in r.retrieve(query_bundle) if hit.score] for r in self.retrievers]
        nodes = {hit.node.node_id: hit.node for ranking in rankings for hit in ranking}
        fused = reciprocal_rank_fusion([[hit.node.node_id for hit in ranking] for ranking in rankings])
        return [NodeWithScore(node=nodes[node_id], score=1.0 / rank) for rank, node_id in enumerate(fused, 1)]


def build(chroma_path: str, name: str = "best", k: int = 5) -> BaseRetriever:
    client = chromadb.PersistentClient(chroma_path)
    retriever = resolve(client, name)  # "best": what the comparison found best, e.g. hybrid_finetuned
    index = published_index(client, retriever.model or "base")  # BM25 alone reads the base index's texts
    store = ChromaVectorStore(chroma_collection=client.get_collection(index.collection))
    embeddings = HuggingFaceEmbedding(
        model_name=index.model,
        query_instruction=index.query_prompt,  # the prompts the model was trained with:
        text_instruction=index.passage_prompt,  # without them it loses part of its gain
    )
    depth = FUSION_DEPTH if retriever.uses_bm25 else k  # fused as the report fused them: 100 of each
    dense = VectorStoreIndex.from_vector_store(store, embed_model=embeddings).as_retriever(similarity_top_k=depth)
    if not retriever.uses_bm25:
        return dense
    nodes = store.get_nodes(None)
    for node in nodes:  # the report's BM25 reads the text alone (LlamaIndex's adds the metadata)
        node.excluded_embed_metadata_keys = list(node.metadata)
    # bm25s, English stop words, no stemming: the report's BM25.
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=depth, skip_stemming=True)
    return FusedRetriever([bm25] if retriever.model is None else [dense, bm25])


if __name__ == "__main__":  # QUESTION [CHROMA_PATH] [RETRIEVER]
    question, chroma, name = [*sys.argv[1:], None, None][:3]
    for hit in build(chroma or "artifacts/chroma", name or "best").retrieve(question)[:5]:
        print(f"{hit.node.metadata['doc_id']}: {hit.node.get_content()[:200]}")
