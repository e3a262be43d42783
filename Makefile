# Course commands. `make notebooks` runs the series; `make test` runs every test.
# Both create .venv and install the package on first use.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PARAMS ?= cpu
ARGS   ?=
# NB=03 (a number or a name's start) limits `notebooks`, `test` and `refresh-outputs` to that notebook.
NB     ?=

# The course data: ../shared/data is used as a local mirror when it exists
# (the same code path as a download); otherwise the notebooks download it,
# or fall back to the synthetic set when offline.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/cnn_perros_gatos-small.zip),)
export COURSE_DATA_MIRROR ?= $(SHARED_DATA)
endif
export COURSE_TEST_NOTEBOOKS := $(NB)
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

# source/: one source per notebook (solutions, nbval's reference outputs); notebooks/: the
# student versions written from it by `make student` (no outputs, solutions blanked).
SOURCES   := $(sort $(wildcard source/$(NB)*.ipynb))
NOTEBOOKS := $(sort $(wildcard notebooks/$(NB)*.ipynb))
ALL_NOTEBOOKS := $(sort $(wildcard source/*.ipynb) $(wildcard notebooks/*.ipynb))
SERIES_NB := $(if $(NB),--notebooks $(NB),)

.PHONY: help venv notebooks test test-fast test-plain test-unit test-notebooks nbval bench bench-quick bench-memory \
        refresh-outputs check-notebooks student solutions html gpu-ci compat compat-all clean lint readme \
        ablation grade site check-site

help:
	@echo "make notebooks [PARAMS=smoke|cpu|gpu] [ARGS=--keep-going]  run the series, write build/PARAMS/summary.md"
	@echo "make test [NB=03]         every test once: each notebook once (smoke: the student's blank exercises, the solutions,"
	@echo "                          nbval's reference outputs compared), the slow ones; beside them, unit and bad inputs as a plain clone"
	@echo "make test-fast            unit tests only (no notebook, nothing slow): the edit-test loop"
	@echo "make test-plain           the unit tests in a copy of the repository without ../shared nor COURSE_DATA_MIRROR"
	@echo "make nbval [NB=03]        nbval itself on the sources (make test compares their reference outputs without it)"
	@echo "make bench | bench-quick  pipelines, training and precision benchmark (build/bench.md, bench.json)"
	@echo "make bench-memory         25,000 synthetic images at 150/224 px: peak memory (build/bench-memory.md)"
	@echo "make ablation             05's ablation, one change at a time (course_utils/recorded/ablation_05_cpu.json)"
	@echo "make student              write the student notebooks (notebooks/) from their sources (source/)"
	@echo "make solutions            write the instructor's versions, with solutions, to build/solutions/"
	@echo "make refresh-outputs      re-execute the sources (smoke), keep only checked outputs, write notebooks/"
	@echo "make check-notebooks      fail if notebooks/ drifts from source/ or carries outputs, or a source stray outputs"
	@echo "make html PARAMS=...      export executed notebooks to HTML"
	@echo "make site PARAMS=...      course site from the executed series in build/PARAMS (build/site/html)"
	@echo "make check-site           open the built site in Chromium (Playwright): pages, figures, links, buttons"
	@echo "make lint                 ruff over the code, tests and notebooks; README generated blocks up to date"
	@echo "make readme               regenerate the README tables from the schema and results/"
	@echo "make compat [STACK=pins|colab|floor] [COMPAT_PYTHON=3.12]  fresh venv per stack (ci/stacks/), unit tests,"
	@echo "                          smoke series; default colab on Python 3.13 and floor on 3.11 (ci/results/compat.json)"
	@echo "make compat-all           the three stacks (build/compat/summary.md)"
	@echo "make grade SUBMISSIONS=dir [ARGS=\"--timeout 600 --jobs 2\"]  grade student notebooks (build/grading/grades.csv, moodle.csv)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[tf,dev]"
	$(PY) -m course_tools.kernel install-kernel
	touch $@

venv: $(VENV)/.installed

notebooks: venv
	$(PY) -m course_tools.series --params $(PARAMS) $(SERIES_NB) $(ARGS)

html: venv
	$(PY) -m course_tools.series --params $(PARAMS) --html $(ARGS)

# The course site (course_tools/course_site.py, docs/conf.py): Sphinx + MyST-NB + sphinx-book-theme
# over the executed notebooks of `make notebooks PARAMS=...` (build/PARAMS/notebooks), with Colab and
# Binder buttons per page; writes build/site/html. Its builder is the `site` extra, not the student install.
$(VENV)/.site-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[tf,dev,site]"
	touch $@

site: $(VENV)/.site-installed
	$(PY) -m course_tools.course_site --params $(PARAMS)

# Browser check of the built site (scripts/check_site.py): the system's Chromium (apt-get install chromium;
# CHROMIUM=PATH for another), driven by Playwright's Python API (the package only: no browser download).
CHROMIUM ?=
check-site: $(VENV)/.site-installed
	$(PY) -m pip install -q playwright
	$(PY) scripts/check_site.py $(if $(CHROMIUM),--chromium $(CHROMIUM))


# `make test`: lint; the tests that need the data at hand (../shared/data as a mirror when it exists) or take
# long: the notebooks, each executed once (tests/notebooks/test_notebooks.py: its source with the student's blank
# exercises before each solution; the reference outputs of source/ compared with nbval's rules; `make nbval`
# runs nbval), the slow ones and those reading files outside git (marker local_files); and, at the same time,
# every other test, once, as a plain clone from GitHub sees them (test-plain). The grader's planted class
# (GRADING_TESTS: a minute of it waits on a planted endless loop) runs in a third process beside the two. The
# slow passes' output follows the plain one's; the exit status fails if any fails (5, nothing selected by
# ARGS, counts as passed in any process, not in all three). `make test-fast` runs the plain pass's tests in
# the work tree. In the first pass the series' tests come last (tests/conftest.py), and every TensorFlow
# process of a test run gets one thread per four cores (conftest.py). Fresh-clone timings:
# benchmarks/results/test_times.json (`python3 -m benchmarks test-times test` adds one).
SLOW_MARK     := notebooks or slow or local_files
GRADING_TESTS := tests/tools/test_grading.py
SLOW_LOG    := $(shell mktemp -u -t curso-cnn-test-log-XXXXXX)
GRADING_LOG := $(shell mktemp -u -t curso-cnn-test-grading-log-XXXXXX)
test: venv check-notebooks lint
	$(PY) -m pytest -p no:cacheprovider tests --ignore=$(GRADING_TESTS) -m "$(SLOW_MARK)" $(ARGS) > $(SLOW_LOG) 2>&1 & slow=$$!; \
	$(PY) -m pytest -p no:cacheprovider $(GRADING_TESTS) -m "$(SLOW_MARK)" $(ARGS) > $(GRADING_LOG) 2>&1 & grading=$$!; \
	$(PLAIN_PASS); plain=$$?; \
	echo "--- cuadernos y pruebas lentas (en paralelo con las de arriba) ---"; wait $$slow; first=$$?; \
	cat $(SLOW_LOG); rm -f $(SLOW_LOG); \
	echo "--- la clase de prueba del corrector (en paralelo) ---"; wait $$grading; second=$$?; \
	cat $(GRADING_LOG); rm -f $(GRADING_LOG); \
	for status in $$first $$second $$plain; do test $$status -eq 0 -o $$status -eq 5 || exit 1; done; \
	test "$$first$$second$$plain" != 555 || { echo "Ninguna prueba coincide con lo que elige ARGS: revisa su -k o -m."; exit 5; }

# The same tests spread over the cores by pytest-xdist (one file per worker at a time; at most 4 workers:
# each imports TensorFlow).
test-fast: venv
	$(PY) -m pytest -p no:cacheprovider -q tests -m "not notebooks and not slow" -n auto --maxprocesses 4 --dist loadfile $(ARGS)

# A fresh machine: a copy of the files git tracks or would track (as they are in the work tree: a new test
# counts before `git add`) in a temporary folder with no ../shared beside it, COURSE_DATA_MIRROR unset, and
# an empty home folder (HOME: no ~/.cache/curso-cnn, no ~/.keras, no IPython profile) with COURSE_CACHE_DIR
# and KERAS_HOME unset: what a new user's clone from GitHub runs. The copy is removed afterwards.
PLAIN_DIR := $(shell mktemp -u -d -t curso-cnn-plain-XXXXXX)
PLAIN_PASS = ( mkdir -p $(PLAIN_DIR)/repo $(PLAIN_DIR)/home && \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(PLAIN_DIR)/repo && \
	cd $(PLAIN_DIR)/repo && env -u COURSE_DATA_MIRROR -u COURSE_SHARED_DATA -u COURSE_CACHE_DIR -u KERAS_HOME \
	  -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u MPLCONFIGDIR -u IPYTHONDIR HOME=$(PLAIN_DIR)/home $(abspath $(PY)) -m pytest \
	  -p no:cacheprovider -q tests -m "not notebooks and not slow" $(ARGS); \
	status=$$?; rm -rf $(PLAIN_DIR); exit $$status )
test-plain: venv
	$(PLAIN_PASS)

test-unit: venv
	$(PY) -m pytest -p no:cacheprovider tests -m "not notebooks" $(ARGS)

test-notebooks: venv
	$(PY) -m pytest -p no:cacheprovider tests -m notebooks $(ARGS)

# nbval itself on the sources (a second execution of each: `make test` compares the same outputs without it).
NBVAL = $(PY) -m pytest -p no:cacheprovider --nbval-lax --sanitize-with tests/notebooks/nbval_sanitize.cfg $(SOURCES)
nbval: venv
	$(NBVAL)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m course_tools.readme --check

readme: venv
	$(PY) -m course_tools.readme

check-notebooks: venv
	$(PY) -m course_tools.nbtools check $(ALL_NOTEBOOKS)

student: venv
	$(PY) -m course_tools.nbtools build $(SOURCES)

solutions: venv
	$(PY) -m course_tools.nbtools solutions build/solutions $(SOURCES)

refresh-outputs: venv
	$(PY) -m course_tools.nbtools refresh $(SOURCES)

# Maintainer tools (benchmarks/ is not part of the installed package).
bench: venv
	$(PY) -m benchmarks $(ARGS)

bench-quick: venv
	$(PY) -m benchmarks --quick $(ARGS)

bench-memory: venv
	$(PY) -m benchmarks memory $(ARGS)

# Notebook 05's ablation on the real data, 40 epochs per step (77 min measured on 2 CPU cores, partly under load);
# 05 plots the JSON it writes. `ARGS="--steps \"\" --variants NAME --seeds 42,43,44"` trains variants of the improved recipe.
ablation: venv
	nice -n 5 $(PY) -m benchmarks ablation $(ARGS)

# Instructor tool (grading/, not part of the installed package): each notebook of SUBMISSIONS in its own
# sandbox (Linux namespaces via unshare when available) with time/memory/disk limits; its check calls recorded
# as data and judged by a separate process with the checks the students see; build/grading/grades.csv
# (appended as rows finish; a rerun resumes), summary.md and moodle.csv.
SUBMISSIONS ?=
grade: venv
	@test -n "$(SUBMISSIONS)" || { echo "Falta la carpeta: make grade SUBMISSIONS=<carpeta con los .ipynb entregados>"; exit 2; }
	$(PY) -m grading $(SUBMISSIONS) $(ARGS)

# The GPU runners' job (see .github/workflows/gpu.yml): installs the `gpu` extra
# (TensorFlow with its CUDA/cuDNN libraries from PyPI: the runner needs only the
# NVIDIA driver), asserts TensorFlow sees a GPU, runs the series, checks the lesson's
# levels and runs nbval on the stored notebooks; every step runs, any failure fails.
# REQUIRE_GPU=0 is a dry run on CPU (no gpu extra, no GPU assertion).
REQUIRE_GPU ?= 1
ifeq ($(REQUIRE_GPU),1)
GPU_SETUP = $(PY) -m pip install -q -e ".[gpu,dev]" && $(PY) -c "import tensorflow as tf, sys; g = tf.config.list_physical_devices('GPU'); print('GPUs:', g); sys.exit(0 if g else 'No GPU visible: this job needs a GPU runner.')"
else
GPU_SETUP = @echo "Ensayo en CPU (REQUIRE_GPU=0): sin el extra gpu ni la comprobación de GPU."
endif
gpu-ci: venv
	$(GPU_SETUP)
	status=0; \
	$(PY) -m course_tools.series --params $(PARAMS) --keep-going --html $(ARGS) || status=1; \
	$(PY) -m course_tools.series --check-levels build/$(PARAMS)/summary.json || status=1; \
	$(NBVAL) || status=1; \
	exit $$status

# Compatibility matrix (ci/compat.py): a fresh venv per stack of ci/stacks/*.txt,
# `pip install -e .` must keep the stack's TensorFlow importable, then unit tests and smoke series.
# Each stack runs on its own Python (colab: Colab's 3.13; floor: the oldest that pyproject.toml
# accepts), found with pyenv or on PATH; COMPAT_PYTHON=X.Y|PATH overrides it. The results are
# added to ci/results/compat.json, from which `make readme` writes the README's table.
STACK ?= colab floor
COMPAT_PYTHON ?=
COMPAT_ARGS ?=
COMPAT_RECORD := ci/results/compat.json
compat:
	$(PYTHON) ci/compat.py $(STACK) $(if $(COMPAT_PYTHON),--python $(COMPAT_PYTHON)) --record $(COMPAT_RECORD) $(COMPAT_ARGS)

compat-all:
	$(PYTHON) ci/compat.py --all $(if $(COMPAT_PYTHON),--python $(COMPAT_PYTHON)) --record $(COMPAT_RECORD) $(COMPAT_ARGS)

clean:
	rm -rf build artifacts
