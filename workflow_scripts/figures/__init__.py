"""The study's figures: one catalogue, paper-ready style, one module per kind of plot."""
