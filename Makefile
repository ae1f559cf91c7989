# Two entry points (see README): `make repro` runs the pipeline, `make test` the tests.
# Both build the virtual environment first if it is missing or pyproject.toml or
# constraints.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: push pull lock repro test test-fast metrics exps lint format bench clean-venv check-plots offline-template grid sweep study generality readme

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Re-pin constraints.txt to what the venv holds (after a pyproject.toml change: install
# without the pins first, e.g. `.venv/bin/pip install -U -e '.[dev]'`, then `make lock`).
lock:
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# A stage DVC finds cached never starts, so what killed runs left is cleared first. After
# the run, one line if its metrics differ from the committed ones, and why (another CPU's
# rounding, or a change: tools/made_on.py).
repro: $(STAMP)
	$(BIN)/python tools/clean_staging.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	$(BIN)/python tools/made_on.py

# DVC's push and pull of the default remote, refusing a HOME that would put it inside the
# clone and naming the folder a failed pull looked in (tools/share.py).
push pull: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python tools/share.py $@

# Two workers, a test module each at a time: the end-to-end modules, each with its own tiny
# repo, run side by side (their stages mostly wait on process start-up, not on the CPU).
test: $(STAMP) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The inner loop: every test that starts no dvc (unit tests and stage scripts), about 1 min.
test-fast: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)

# The headline metrics, one row per variant, and the experiments' (both fit 120 columns).
metrics: $(STAMP)
	$(BIN)/python stages/exps.py --workspace

exps: $(STAMP)
	$(BIN)/python stages/exps.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# BENCH_ARGS: e.g. "--repeats 1" (both scripts take --mnist, --params, --repeats, --device).
bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/eval_speed.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)

# `dvc plots show` must draw every chart without internet: render it in headless Chromium
# with the network unreachable. It installs nothing: on Debian, `apt-get install chromium`.
check-plots: $(STAMP)
	@test -x /usr/bin/chromium || { echo "make check-plots needs /usr/bin/chromium (Debian: apt-get install chromium)" >&2; exit 2; }
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python tools/check_offline_plots.py --screenshot dvc_plots_offline.png

# Rebuild .dvc/plots/offline.html from the npm registry (vega, vega-lite, vega-embed).
offline-template:
	rm -rf /tmp/anchorvae-npm && mkdir -p /tmp/anchorvae-npm
	cd /tmp/anchorvae-npm && npm pack --silent vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2 \
		&& for f in *.tgz; do mkdir "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	python3 tools/offline_plots_template.py /tmp/anchorvae-npm .dvc/plots/offline.html

# A grid of grids.yaml (NAME=study, sweep, generality, ...): one queued DVC
# experiment per cell, then reports/NAME.{csv,png}: queue, wait and report in one process
# (stages/grid.py runs each alone too). Review the README's prose, then make readme.
grid: $(STAMP)
	@test -n "$(NAME)" || { echo "make grid needs NAME=<a key of grids.yaml>" >&2; exit 2; }
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python stages/grid.py $(NAME)

# The names people know: the many-seed study, the anchor_rate sweep, generality.
study sweep generality:
	$(MAKE) --no-print-directory grid NAME=$@

# The README's and docs' generated blocks, from metrics/details.json and reports/*.csv.
readme: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python stages/readme.py
