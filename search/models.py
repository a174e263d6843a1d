"""No models: the search reads the other apps' tables through their selectors. This module
exists so that Django sends this app post_migrate (SearchConfig.ready, search/fts.py)."""
