"""rag_ft_pipeline: a folder of documents in, a fine-tuned, evaluated text-embedding model out."""
