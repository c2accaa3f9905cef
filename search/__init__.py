"""Full-text search: the analyzer, text extraction, de-identification, the Whoosh index and its writer queue.

The pure parts (``analysis``, ``mask``, ``snippet``, ``sample``, ``documents``, ``results``) know nothing
of the archive; ``extract`` reads document bytes; ``index`` owns the files in ``HOME/index``;
``indexer`` and ``queue`` bring the catalog, the bucket and the index together; ``query`` runs a
search. Who may see what is decided in ``operations/search.py``.
"""
