"""Our vocabulary (kg.ttl) and SHACL shapes (shapes.ttl), packaged as ``kg.ontologies``."""
