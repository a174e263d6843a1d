"""Enrichment providers: one module per provider, registered in ``registry``."""
