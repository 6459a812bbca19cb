"""The staff registry: org units, positions and people, as HR keeps them."""
