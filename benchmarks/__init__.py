"""Maintainer benchmarks of the course (not part of the student package).

Run from the repository root: ``python -m benchmarks --help`` (or ``make bench``,
``make bench-quick``, ``make bench-memory``).  Modules, one job each:

* :mod:`benchmarks.bench_settings` - what to measure (settings, the lesson's recipes);
* :mod:`benchmarks.machine`  - load average, peak memory, machine description;
* :mod:`benchmarks.measure`  - pipeline throughput and training time/accuracy, interleaved repeats;
* :mod:`benchmarks.precision` - training throughput and accuracy per precision policy;
* :mod:`benchmarks.loader_memory` - synthetic 25,000-image set, peak memory of loading and training;
* :mod:`benchmarks.targets`  - the project's targets and whether each is met;
* :mod:`benchmarks.bench_report` - rows, Markdown table and ``bench.json``;
* :mod:`benchmarks.cli`      - command line (the only place with exit codes);
* :mod:`benchmarks.test_times` - ``make test``/``test-fast`` timed as on a new machine, appended to its record.
"""
