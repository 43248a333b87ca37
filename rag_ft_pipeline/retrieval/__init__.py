"""Finding chunks for a question: embedding models, the vector store, exact search, BM25 and their fusion."""
