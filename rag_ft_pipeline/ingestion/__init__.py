"""Documents in, chunks out: finding, downloading, converting and cleaning documents, recording
what became of each, and cutting the clean text into token-bounded chunks."""
