# fmnist-bottleneck: train -> export -> analyze -> site, each stage a file target in $(RUN).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

RUN ?= runs/default
PRESET ?= default
DATA_DIR ?= data
FASHION_MNIST_DIR ?=
RESUME ?=
SWEEP ?= smoke
PYTHON ?= python3
VENV ?= .venv

# Each folder becomes part of make targets and one quoted shell word, so it must be one word free
# of make's and the shell's syntax. The raw `$(value ...)` is checked: expanding it could run it.
UNSAFE := $$ ' " ` ; * ? \# : % \ ( ) < > | & ! [ ] { } ~ =
spaces = $(if $(subst $(firstword $(value $1)),,$(value $1)),a space)
unsafe = $(strip $(foreach c,$(UNSAFE),$(if $(findstring $c,$(value $1)),$c)))
flaws = $(strip $(spaces) $(if $(and $(spaces),$(unsafe)),and) \
	$(if $(unsafe),the character$(if $(word 2,$(unsafe)),s) $(patsubst %,"%",$(unsafe))))
$(foreach v,RUN DATA_DIR VENV FASHION_MNIST_DIR SWEEP,$(if $(call flaws,$v),$(error \
	error: $v='$(value $v)' contains $(call flaws,$v); make cannot name such a folder; choose a name without them)))
$(foreach v,RUN DATA_DIR VENV,$(if $(value $v),,$(error error: $v is empty; name a folder, or leave $v unset for its default)))
$(if $(filter-out 0 1,$(RESUME)),$(error error: RESUME='$(RESUME)'; RESUME=1 continues a killed run, RESUME=0 or none starts afresh))
# The stages write into RUN and `make clean` empties it, so it can never be the repository or above it.
REPO := $(patsubst %/,%,$(dir $(realpath $(firstword $(MAKEFILE_LIST)))))
RUN_PATH := $(patsubst %/,%,$(or $(realpath $(RUN)),$(abspath $(RUN))))
$(if $(filter $(RUN_PATH)/%,$(REPO)/),$(error \
	error: RUN='$(RUN)' is the repository or a folder holding it; choose a run folder, e.g. runs/default))

PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
DATA_STAMP := $(DATA_DIR)/FashionMNIST/raw/t10k-labels-idx1-ubyte
BROWSER_STAMP := $(VENV)/.browser
# onnxruntime-web for the report's Try it page (`npm ci`), where npm is installed; without it the site has no such page
NPM_STAMP := $(if $(shell command -v npm),node_modules/.package-lock.json)
# What the stages write into RUN, all that `make clean` deletes there, each with the hidden entries
# named after it (`.analysis.lock`, `.site.old`, `.config.json.*` temporaries, `.analysis.new-*`).
# analysis and report may be symlinks to the hidden build folders `.analysis-<id>`, `.report-<id>`.
RUN_OUTPUTS := config.json history.json checkpoint.pt snapshots.npz dynamics.npz model.onnx export_report.json \
	analysis report docs site mkdocs.yml screenshots .site-build .analysis-* .report-*
# The project's modules that a stage's entry module imports, directly or not (found by the
# standard library's modulefinder, so no venv is needed): a stage reruns when code it runs changes.
imports = $(shell '$(PYTHON)' -c 'import modulefinder, os, sys; f = modulefinder.ModuleFinder(["."]); \
	f.import_hook(sys.argv[1]); print(*sorted(os.path.relpath(m.__file__) for m in f.modules.values() if m.__file__))' $(1))
TRAINER_SRC := $(call imports,trainer.__main__)
EXPORTER_SRC := $(call imports,exporter.__main__)
ANALYZER_SRC := $(call imports,analyzer.__main__)
SITE_SRC := $(call imports,site_renderer.__main__) $(wildcard site_templates/*)
LOCAL_DATA := $(if $(FASHION_MNIST_DIR),--local-dir '$(FASHION_MNIST_DIR)')

.PHONY: help install data train export analyze site all serve test test-quick lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo '  variables: RUN=$(RUN) PRESET=$(PRESET) DATA_DIR=$(DATA_DIR) FASHION_MNIST_DIR=$(FASHION_MNIST_DIR) RESUME=$(RESUME) SWEEP=$(SWEEP)'

install: $(VENV_STAMP) $(NPM_STAMP) ## create .venv with the project, all extras and the dev tools (and, with npm, the Try it page's runtime)

# exactly as package-lock.json pins it (hashes checked)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

$(VENV_STAMP): pyproject.toml
	'$(PYTHON)' -m venv '$(VENV)'
	'$(PY)' -m pip install -q --upgrade pip
	'$(PY)' -m pip install -q -e '.[all,dev]'
	touch '$@'

data: $(DATA_STAMP) ## fetch (or copy from FASHION_MNIST_DIR) and verify Fashion-MNIST

$(DATA_STAMP): | $(VENV_STAMP)
	'$(PY)' -m trainer data --data-dir '$(DATA_DIR)' $(LOCAL_DATA)

train: $(RUN)/snapshots.npz ## train the bottleneck CNN (RESUME=1 continues a killed run)

# One training run writes all five (snapshots.npz last, when it completes). The checkpoint of a
# killed run is kept (.PRECIOUS) so that RESUME=1 can continue it.
TRAIN_OUT := $(RUN)/snapshots.npz $(RUN)/dynamics.npz $(RUN)/checkpoint.pt $(RUN)/history.json $(RUN)/config.json
# So are its configuration and history: without them `make clean` would no longer know the folder.
.PRECIOUS: $(RUN)/checkpoint.pt $(RUN)/config.json $(RUN)/history.json $(RUN)/export_report.json
$(TRAIN_OUT) &: $(DATA_STAMP) $(TRAINER_SRC) | $(VENV_STAMP)
	'$(PY)' -m trainer train --run '$(RUN)' --preset '$(PRESET)' --data-dir '$(DATA_DIR)' $(LOCAL_DATA) $(if $(filter 1,$(RESUME)),--resume)

export: $(RUN)/model.onnx ## export the checkpoint to ONNX and prove it equal to PyTorch

# The report is written even when a check fails (and kept, to read why); the model only on success.
$(RUN)/model.onnx $(RUN)/export_report.json &: $(RUN)/checkpoint.pt $(EXPORTER_SRC) | $(VENV_STAMP)
	'$(PY)' -m exporter --run '$(RUN)' --data-dir '$(DATA_DIR)'

analyze: $(RUN)/analysis/results.json ## analyse the ONNX model on the CPU (no torch)

$(RUN)/analysis/results.json: $(RUN)/model.onnx $(RUN)/snapshots.npz $(RUN)/history.json $(RUN)/dynamics.npz \
		$(ANALYZER_SRC)
	'$(PY)' -m analyzer --model '$(RUN)/model.onnx' --data '$(DATA_DIR)' --snapshots '$(RUN)/snapshots.npz' \
		--history '$(RUN)/history.json' --dynamics '$(RUN)/dynamics.npz' --out '$(RUN)/analysis'

site: $(RUN)/site/index.html ## render the static report into RUN/site

$(RUN)/site/index.html: $(RUN)/analysis/results.json $(RUN)/export_report.json $(RUN)/config.json $(SITE_SRC) $(NPM_STAMP)
	'$(PY)' -m site_renderer --run '$(RUN)'

all: site ## data -> train -> export -> analyze -> site

# A grid of runs, each a run folder built by the stages above, then their comparison in
# runs/sweeps/NAME/site; SWEEP names a grid in sweep/grids or a TOML file (docs/sweeps.md).
.PHONY: sweep
sweep: $(DATA_STAMP) | $(VENV_STAMP) ## build every run of the grid SWEEP and their comparison
	'$(PY)' -m sweep --grid '$(SWEEP)' --data-dir '$(DATA_DIR)' $(LOCAL_DATA)

# Serving never builds: a RUN without a site is refused while reading the Makefile, naming the runs
# under runs/ that have one.
serve: | $(VENV_STAMP) ## serve RUN's built report at http://127.0.0.1:8000 with mkdocs (builds nothing)
	'$(PY)' -m mkdocs serve -f '$(RUN)/mkdocs.yml' -a 127.0.0.1:8000

ifneq ($(filter serve,$(MAKECMDGOALS)),)
comma := ,
BUILT_RUNS := $(patsubst %/site/index.html,%,$(wildcard runs/*/site/index.html))
# "make serve RUN=a, make serve RUN=b": each command one word (^ for its spaces), joined by ", ".
SERVE_CHOICES := $(subst ^, ,$(subst $() ,$(comma) ,$(patsubst %,make^serve^RUN=%,$(BUILT_RUNS))))
SERVE_FIX := $(if $(BUILT_RUNS),serve one that has: $(SERVE_CHOICES),build it first with make all RUN=$(RUN))
$(if $(wildcard $(RUN)/site/index.html),,$(error error: RUN='$(RUN)' has no built site; $(SERVE_FIX)))
endif

# The suite reads the dataset `make data` prepared (copying what it changes into temporary folders).
PYTEST := DATA_DIR='$(abspath $(DATA_DIR))' FASHION_MNIST_DIR='$(FASHION_MNIST_DIR)' '$(PY)' -m pytest -q
test: $(VENV_STAMP) $(BROWSER_STAMP) $(DATA_STAMP) $(NPM_STAMP) ## run the whole test suite (installs Chromium if missing)
	$(PYTEST)

test-quick: $(VENV_STAMP) $(DATA_STAMP) ## a first check: the suite without the browser and without training
	$(PYTEST) -m 'not browser and not slow'

# Chromium for the browser tests: Debian's as root, else Playwright's own, else what to install.
$(BROWSER_STAMP): tests/install_browser.sh $(VENV_STAMP)
	tests/install_browser.sh '$(PY)'
	touch '$@'

lint: $(VENV_STAMP) ## ruff
	'$(PY)' -m ruff check trainer exporter analyzer fmnist_common site_renderer sweep tests bench

bench: $(VENV_STAMP) $(DATA_STAMP) ## measure speed and accuracy into bench/results.json
	'$(PY)' bench/run.py --data-dir '$(DATA_DIR)'

# The pictures of README.md, from a run already built (make all RUN=...); it builds nothing in RUN.
.PHONY: images
images: | $(VENV_STAMP) $(BROWSER_STAMP) ## README pictures into docs/images from RUN/analysis and RUN/site
	'$(PY)' bench/readme_images.py --run '$(RUN)' --out docs/images

# Full-page screenshots of every page of a built site (1280 px light and dark, 420 px light): a look
# at the report as a reader sees it.
.PHONY: screenshots
screenshots: | $(VENV_STAMP) $(BROWSER_STAMP) ## full-page screenshots of RUN/site into RUN/screenshots
	'$(PY)' bench/screenshots.py --run '$(RUN)'

# Only a folder the trainer started (its config.json) is emptied; any other folder is refused, and
# what the user put into a run folder stays and is named.
clean: ## delete what the stages wrote into RUN (nothing else), then RUN itself if that empties it
	@[[ -e '$(RUN)' ]] || exit 0; \
	[[ -d '$(RUN)' ]] || { echo "error: RUN='$(RUN)' is not a folder; make clean empties a run folder" >&2; exit 1; }; \
	if [[ -n "$$(ls -A '$(RUN)')" ]] && ! grep -qs '"torch_version"' '$(RUN)/config.json'; then \
		echo "error: RUN='$(RUN)' holds no config.json written by the trainer, so it is not a run folder;" \
			"make clean leaves it alone" >&2; exit 1; fi; \
	(cd '$(RUN)' && shopt -s nullglob && for name in $(RUN_OUTPUTS); do rm -rf -- "$$name" ".$$name".*; done); \
	mapfile -t kept < <(LC_ALL=C ls -Ap '$(RUN)'); \
	if (( $${#kept[@]} )); then echo "kept $(RUN): $${kept[*]} (not written by this project)"; \
	else rmdir '$(RUN)'; fi
