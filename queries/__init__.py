"""The SPARQL query library (``*.rq`` files), packaged as ``kg.queries``."""
