"""kg: build a knowledge graph of PFOCR pathway figures (figures, papers, genes, chemicals,
diseases, organisms) as RDF; store it, query it, and share it."""

__version__ = "0.1.0"
