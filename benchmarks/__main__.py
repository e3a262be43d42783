"""``python -m benchmarks [COMMAND] ...``: every benchmark through one entry point.

``pipelines`` (default), ``memory`` and ``precision-accuracy`` are the benchmark's own
commands (:mod:`benchmarks.cli`); the others run one study each and write its record.
"""

import importlib
import sys

#: Studies with their own arguments: command -> module of ``benchmarks`` with a ``main(argv)``.
STUDIES = {
    "ablation": "ablation",  # notebook 05's ablation (course_utils/recorded/ablation_05_cpu.json)
    "augmentation-experiment": "augmentation_experiment",  # notebook 04's three seeds, with and without augmentation
    "preprocessing-paths": "preprocessing_paths",  # one model through three loaders
    "filter-patterns": "filter_patterns",  # filter patterns before/after the ReLU
    "train-lesson-cnn": "train_lesson_cnn",  # the short lesson CNN the two studies above use
    "grading-class": "grading_class",  # a planted class of 60 graded as a teacher grades it
    "test-times": "test_times",  # make test / test-fast timed as on a new machine (benchmarks/results/test_times.json)
}

if len(sys.argv) > 1 and sys.argv[1] in STUDIES:
    module = importlib.import_module(f"benchmarks.{STUDIES[sys.argv[1]]}")
    sys.exit(module.main(sys.argv[2:]))

from .cli import main  # noqa: E402

sys.exit(main())
