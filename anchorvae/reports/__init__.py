"""What people read: figures (figures.py, grid_figures.py), a grid's markdown tables
(markdown.py) and the documents' generated blocks (readme.py), all from the files the
pipeline and the grids wrote."""
