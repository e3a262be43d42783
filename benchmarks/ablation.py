"""Ablation of notebook 05 and the search for a better from-scratch CNN (issue 13, target 1).

Run once on the real data (``make ablation``); notebook 05 draws its figure from the
JSON this writes (``course_utils/recorded/ablation_05_cpu.json``, shipped with
the package so that the notebook finds it in Colab too) and never retrains these models.

**Ablation** (``--steps``): each step adds one change to the previous one:

0. ``original``: the lesson's CNN (Conv 32-64-128-128, Flatten, Dropout 0.5, Dense 512),
   RMSprop 1e-4, the lesson's strong augmentation in the pipeline.
1. ``+batchnorm``: BatchNormalization after every convolution (no bias, ReLU after).
2. ``+gap``: GlobalAveragePooling2D instead of Flatten.
3. ``+dense256``: Dense 256 instead of 512.
4. ``+adam_cosine``: Adam with cosine decay from 2e-3 instead of RMSprop 1e-4.
5. ``+moderate_aug``: the moderate augmentation instead of the lesson's strong one
   (the improved recipe, as notebook 05's figure shows it).
6. ``+early_stopping``: the weights of the best validation epoch of step 5 (no new run:
   the best weights are kept while step 5 trains, as ``EarlyStopping(restore_best_weights=True)``
   would).

**Variants** (``--variants``, written to ``--variants-out``): the improved recipe with
changes that might buy accuracy per CPU second, each trained with every seed of
``--seeds``.  A variant's model is the one of its best validation epoch; it is chosen on
the validation split, and the test split gives the final number.  Every model is
also scored with test-time flip (the mean of the prediction on the image and on its
mirror image), on validation and test.

Results are written after every run, so an interrupted run keeps what finished.

**Checkpoints** (``--checkpoint-dir``, default ``build/checkpoints``): every run (step or
variant, seed) saves model, optimizer, history and best weights at the end of every epoch
(:mod:`benchmarks.resumable`, which says what a resume reproduces exactly); ``--resume``
carries an interrupted run on from its last finished epoch, and ``--stop-after N`` trains
at most N epochs in this sitting (for the long ``gpu`` recipe, a few hours on CPU).

**The cpu and gpu candidates for notebook 05** (issue 19) are variants too: residual
CNNs (:mod:`benchmarks.scratch_models`) with a stride-2 stem, label smoothing and AdamW
with warm-up and cosine decay (``res_*``, ``xcep_*``), and ``gpu`` (the book's
mini-Xception with that training recipe, at 180 px).

**Progressive resizing** (issue 33, variants ``res_s2_prog*``): a config with ``phases``
(``[[size, epochs], ...]``) trains the same model at each size in turn under one learning-rate
schedule, validates only in its last ``validate_last`` epochs (the best epoch is chosen there),
and scores the best model at each of ``eval_sizes``; ``mixup`` (alpha) mixes pairs of training
images.  ``--epochs`` and ``--img-size`` do not apply to such a variant.  The cpu recipe's search
is recorded in ``benchmarks/results/cpu_recipe_search.json`` (one run per file under ``build/runs``,
then collected; the commands are in ``benchmarks/results/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python benchmarks/ablation.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.resumable import epoch_dataset, fit_resumable, load_images  # noqa: E402
from course_utils.config import portable  # noqa: E402
from course_utils.data.loaders import STRENGTHS  # noqa: E402

STEPS = ("original", "+batchnorm", "+gap", "+dense256", "+adam_cosine", "+moderate_aug")
STRONG = STRENGTHS["strong"]
MODERATE = STRENGTHS["moderate"]
#: The improved recipe's settings (step ``+moderate_aug``).
IMPROVED = dict(
    batchnorm=True,
    gap=True,
    dense_units=256,
    optimizer="adam_cosine",
    augmentation="moderate",
    widths=(32, 64, 128, 128),
    padding="valid",
    bn_momentum=0.99,
    label_smoothing=0.0,
    learning_rate=2e-3,
    family="plain",
)
#: The residual candidates' common recipe (overrides of IMPROVED; the model: benchmarks.scratch_models).
RESIDUAL = dict(
    family="residual",
    augmentation="moderate_warp",
    optimizer="adamw_warmup_cosine",
    learning_rate=3e-3,
    warmup_epochs=2,
    weight_decay=5e-4,
    label_smoothing=0.1,
    model=dict(stem_kernel=3, stem_stride=2, stem_padding="same", stem_bn=True, final_bn=True, bn_momentum=0.9),
)
RES_S2 = dict(RESIDUAL, model=dict(RESIDUAL["model"], widths=(32, 64, 128, 256), separable=False))
#: Progressive resizing (issue 33): ``phases`` = [size, epochs] in order (one learning-rate schedule over
#: all of them; the model takes any size); validation only in the last ``validate_last`` epochs (the best
#: epoch is chosen among them; validating every epoch costs a sixth of an epoch); the best model is
#: scored at each of ``eval_sizes`` (the last phase's size first), plain and with test-time flip.
PROGRESSIVE = dict(phases=[[64, 16], [96, 14], [128, 10]], validate_last=10, eval_sizes=[128, 112, 144])
#: Variants of the improved recipe tried for a better from-scratch model (overrides of IMPROVED).
VARIANTS: dict[str, dict] = {
    "improved": {},
    "bn_momentum_0.9": dict(bn_momentum=0.9),
    "bn0.9+label_smoothing": dict(bn_momentum=0.9, label_smoothing=0.1),
    "wide_same_5blocks": dict(widths=(32, 64, 128, 256, 256), padding="same", bn_momentum=0.9),
    # issue 19's cpu candidates (train with --img-size and --epochs sized to 12 min in float32)
    "xcep_s2": dict(RESIDUAL, model=dict(RESIDUAL["model"], widths=(64, 128, 256, 512), separable=True)),
    "res_s2": dict(RESIDUAL, model=dict(RESIDUAL["model"], widths=(32, 64, 128, 256), separable=False)),
    "res_s2_wide": dict(RESIDUAL, model=dict(RESIDUAL["model"], widths=(48, 96, 192, 384), separable=False)),
    # issue 33's search for the cpu recipe (see PROGRESSIVE): res_s2 with progressive resizing
    "res_s2_prog": dict(RES_S2, **PROGRESSIVE),
    "res_s2_prog112": dict(RES_S2, phases=[[64, 18], [96, 16], [112, 10]], validate_last=10, eval_sizes=[112, 128, 96]),
    "res_s2_prog_mixup": dict(RES_S2, **PROGRESSIVE, mixup=0.2),
    "res_s2_prog112_mixup": dict(
        RES_S2, phases=[[64, 18], [96, 16], [112, 10]], validate_last=10, eval_sizes=[112, 128, 96], mixup=0.2
    ),
    # the book's mini-Xception (721,857 parameters at 180 px), the book's augmentation, AdamW with
    # warm-up and cosine decay, label smoothing (not run: the gpu recipe is res_s2 at 180 px, 100 epochs)
    "book_xception": dict(
        RESIDUAL,
        augmentation="chollet_warp",
        learning_rate=1e-3,
        warmup_epochs=3,
        weight_decay=1e-4,
        model={},
    ),
}
#: Augmentations: Keras layers (``strong``, ``moderate``) or one warp per image on uint8 (``*_warp``, faster).
WARPS = dict(
    moderate_warp=dict(MODERATE, flip=True),
    chollet_warp=dict(rotation=0.1, shift=0.0, zoom=0.2, shear=0.0, flip=True),
)
ROOT = Path(__file__).parents[1]
DEFAULT_OUT = ROOT / "course_utils" / "recorded" / "ablation_05_cpu.json"
DEFAULT_VARIANTS_OUT = ROOT / "benchmarks" / "results" / "from_scratch_cpu.json"
DEFAULT_CHECKPOINTS = ROOT / "build" / "checkpoints"


def config_for(step: str) -> dict:
    """The cumulative settings of ablation ``step``."""
    order = STEPS.index(step)
    return dict(
        IMPROVED,
        batchnorm=order >= 1,
        gap=order >= 2,
        dense_units=256 if order >= 3 else 512,
        optimizer="adam_cosine" if order >= 4 else "rmsprop",
        augmentation="moderate" if order >= 5 else "strong",
    )


def build(cfg: dict, img_size: int):
    """The CNN of ``cfg`` (float32 output, so that it trains under mixed precision)."""
    import keras
    from keras import layers

    if cfg.get("family", "plain") == "residual":
        from benchmarks.scratch_models import residual_cnn

        return residual_cnn(img_size, **cfg["model"])

    inputs = keras.Input(shape=(img_size, img_size, 3))
    x = inputs
    for i, filters in enumerate(cfg["widths"], start=1):
        if cfg["batchnorm"]:
            x = layers.Conv2D(filters, 3, padding=cfg["padding"], use_bias=False, name=f"conv{i}")(x)
            x = layers.BatchNormalization(momentum=cfg["bn_momentum"], name=f"bn{i}")(x)
            x = layers.ReLU(name=f"relu{i}")(x)
        else:
            x = layers.Conv2D(filters, 3, padding=cfg["padding"], activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if cfg["gap"] else layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(cfg["dense_units"], activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs)


def min_img_size(cfg: dict) -> int:
    """The smallest input side :func:`build` accepts for ``cfg`` (no layer's output may reach zero pixels).

    Plain CNN: per block a 3x3 convolution (``valid`` takes 2 px) and a 2x2 max-pooling (halves);
    residual CNN: only a ``valid`` stem shrinks by its kernel (the blocks use ``same`` padding).
    """
    if cfg.get("family", "plain") == "residual":
        from benchmarks.scratch_models import CHOLLET_XCEPTION

        stem = dict(CHOLLET_XCEPTION, **cfg["model"])
        return stem["stem_kernel"] if stem["stem_padding"] == "valid" else 1
    side = 1
    for _ in cfg["widths"]:
        side = 2 * side + (2 if cfg["padding"] == "valid" else 0)
    return side


def too_small(runs: list[tuple[str, dict]], args) -> str | None:
    """A Spanish message when a run would train or be scored at a size its model cannot take, else None."""
    for label, cfg in runs:
        sizes = [size for size, _ in phases_of(cfg, args)] + list(cfg.get("eval_sizes") or [])
        need = min_img_size(cfg)
        if min(sizes) < need:
            flag = "--img-size" if not cfg.get("phases") else "el tamaño de sus fases"
            return (
                f"{label}: imágenes de {min(sizes)} px son demasiado pequeñas para su modelo (sus capas de "
                f"convolución y pooling necesitan al menos {need} px). Usa {flag} {need} o más."
            )
    return None


def scores(model, split) -> dict:
    """Accuracy on ``split`` (unshuffled), plain and with test-time flip."""
    import numpy as np
    import tensorflow as tf

    plain, flipped = [], []
    for x, _ in split.dataset:
        plain.append(np.asarray(model(x, training=False), dtype="float32").ravel())
        flipped.append(np.asarray(model(tf.reverse(x, axis=[2]), training=False), dtype="float32").ravel())
    p, f = np.concatenate(plain), np.concatenate(flipped)
    y = split.labels
    return dict(accuracy=float(np.mean((p > 0.5) == y)), flip_accuracy=float(np.mean(((p + f) / 2 > 0.5) == y)))


def run_name(name: str, seed: int) -> str:
    """The checkpoint file of a run: ``<name>_seed<seed>.npz`` with ``+`` and other signs spelt out."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name.replace("+", "plus_"))
    return f"{safe}_seed{seed}.npz"


def phases_of(cfg: dict, args) -> list[list[int]]:
    """``[[size, epochs], ...]`` of a run: the config's ``phases``, or ``--img-size`` for ``--epochs``."""
    return [list(p) for p in cfg.get("phases") or [[args.img_size, args.epochs]]]


def phase_timing(phases: list[list[int]], state: dict) -> list[dict]:
    """Mean wall and CPU seconds per epoch of each phase, apart for the epochs that were validated."""
    rows, start = [], 0
    val = state["history"].get("val_accuracy", [])
    for size, epochs in phases:
        idx = range(start, min(start + epochs, len(state["epoch_seconds"])))
        for validated in (False, True):
            picked = [i for i in idx if (i < len(val) and val[i] is not None) == validated]
            if picked:
                rows.append(
                    dict(
                        size=size,
                        validated=validated,
                        epochs=len(picked),
                        wall_per_epoch=round(sum(state["epoch_seconds"][i] for i in picked) / len(picked), 2),
                        cpu_per_epoch=round(
                            sum(state.get("epoch_cpu_seconds", [0] * len(val))[i] for i in picked) / len(picked), 2
                        ),
                    )
                )
        start += epochs
    return rows


def train(cfg: dict, args, course, splits, seed: int, images, name: str = "run") -> dict:
    """Train ``cfg`` once (resumable, see :mod:`benchmarks.resumable`); the final and the best-validation model's scores.

    ``images(size)``: the training split at ``size`` as ``uint8`` arrays and labels
    (:func:`benchmarks.resumable.load_images`); ``splits(size)``: the validation and test splits at ``size``.
    A config with ``phases`` trains at each size in turn (see :data:`PROGRESSIVE`).
    Returns ``None`` in place of the scores when ``--stop-after`` stopped the run before its last epoch.
    """
    import keras

    from benchmarks.scratch_models import optimizer_for
    from course_utils.data.loaders import lesson_augment
    from course_utils.start import set_seed

    set_seed(seed)
    kind = cfg["augmentation"]
    augment_factory = warp_factory = None
    if kind in WARPS:
        warp_factory = lambda s: lesson_augment(s, **WARPS[kind])  # noqa: E731
    else:
        from course_utils.data.loaders import make_augmentation

        ranges = STRONG if kind == "strong" else MODERATE
        augment_factory = lambda s: make_augmentation(seed=s, **ranges)  # noqa: E731
    phases = phases_of(cfg, args)
    epochs = sum(e for _, e in phases)
    size_of = [size for size, e in phases for _ in range(e)]
    final_size = phases[-1][0]
    eval_sizes = list(cfg.get("eval_sizes") or [final_size])
    steps = -(-len(images(final_size)[0]) // args.batch_size)
    any_size = len(phases) > 1 or eval_sizes != [final_size]
    model = build(cfg, None if any_size else final_size)
    loss = keras.losses.BinaryCrossentropy(label_smoothing=cfg["label_smoothing"])
    model.compile(optimizer=optimizer_for(cfg, steps, epochs), loss=loss, metrics=["accuracy"])
    identity = dict(
        name=name,
        seed=seed,
        config=cfg,
        epochs=epochs,
        img_size=final_size,
        batch_size=args.batch_size,
        max_per_class=args.max_per_class,
        data=course.kind,
        precision=keras.mixed_precision.global_policy().name,
    )
    first_validated = epochs - cfg["validate_last"] if cfg.get("validate_last") else 0
    validation = splits(final_size)["validation"].dataset
    state = fit_resumable(
        model,
        lambda epoch: epoch_dataset(
            *images(size_of[epoch]),
            args.batch_size,
            seed,
            epoch,
            augment_factory,
            warp_factory,
            mixup=cfg.get("mixup", 0.0),
        ),
        (lambda epoch: validation if epoch >= first_validated else None) if first_validated else validation,
        epochs,
        Path(args.checkpoint_dir) / run_name(name, seed),
        identity=identity,
        resume=args.resume,
        stop_after=args.stop_after,
    )
    done = state["epochs_done"] == epochs
    final = {n: scores(model, splits(final_size)[n]) for n in ("validation", "test")} if done else None
    if done:
        model.set_weights(state["best_weights"])
    at_best = {n: scores(model, splits(final_size)[n]) for n in ("validation", "test")} if done else None
    by_size = (
        {str(size): {n: scores(model, splits(size)[n]) for n in ("validation", "test")} for size in eval_sizes}
        if done and any_size
        else None
    )
    return dict(
        seed=seed,
        params=int(model.count_params()),
        phases=phases,
        train_seconds=state["train_seconds"],
        train_cpu_seconds=round(sum(state.get("epoch_cpu_seconds", [])), 1),
        epoch_seconds=state["epoch_seconds"],
        epoch_cpu_seconds=state.get("epoch_cpu_seconds", []),
        phase_timing=phase_timing(phases, state),
        epochs_done=state["epochs_done"],
        best_epoch=state["best_epoch"],
        final=final,
        best=at_best,
        best_by_size=by_size,
        history=state["history"],
        model=model,
    )


def _write(path: Path, record: dict) -> None:
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def _summary(run: dict) -> str:
    b = run["best"]
    return (
        f"val {b['validation']['accuracy']:.3f} (flip {b['validation']['flip_accuracy']:.3f})"
        f" test {b['test']['accuracy']:.3f} (flip {b['test']['flip_accuracy']:.3f}) in {run['train_seconds']:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--steps", default=",".join(STEPS), help="ablation steps ('' for none)")
    parser.add_argument("--variants", default="", help=f"variants to train: {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="42", help="seeds of each variant, comma-separated")
    parser.add_argument("--data", default="course", help="course, synthetic or a folder")
    parser.add_argument("--precision", default="auto", help="auto (course_utils.hardware), float32, mixed_bfloat16")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--variants-out", default=str(DEFAULT_VARIANTS_OUT))
    parser.add_argument("--seed", type=int, default=42, help="seed of the ablation steps")
    parser.add_argument(
        "--save-model", default=None, help="save the model of the last step (the improved recipe) to this .keras file"
    )
    parser.add_argument(
        "--checkpoint-dir", default=str(DEFAULT_CHECKPOINTS), help="one checkpoint per run, rewritten every epoch"
    )
    parser.add_argument("--resume", action="store_true", help="carry on each run from its checkpoint, if any")
    parser.add_argument("--stop-after", type=int, default=None, help="train at most N epochs per run in this sitting")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v and v not in VARIANTS]
    if unknown:
        parser.error(f"variantes desconocidas: {', '.join(unknown)}; las que hay: {', '.join(VARIANTS)}")
    unknown_steps = [s for s in args.steps.split(",") if s and s not in STEPS]
    if unknown_steps:
        parser.error(f"pasos desconocidos: {', '.join(unknown_steps)}; los que hay: {', '.join(STEPS)}")
    planned = [(s, config_for(s)) for s in args.steps.split(",") if s]
    planned += [(v, dict(IMPROVED, **VARIANTS[v])) for v in args.variants.split(",") if v]
    if problem := too_small(planned, args):
        parser.error(problem)

    import keras

    from benchmarks.machine import cpu_flags_summary, load_text
    from course_utils import hardware
    from course_utils.data import course_data, loaders

    precision = hardware.choose_precision().policy if args.precision == "auto" else args.precision
    keras.mixed_precision.set_global_policy(precision)
    course = course_data.get_course_data(args.data)
    head = dict(
        command=portable(
            "python "
            + shlex.join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        settings=dict(
            epochs=args.epochs,
            img_size=args.img_size,
            batch_size=args.batch_size,
            max_per_class=args.max_per_class,
            seed=args.seed,
            data=course.kind,
            precision=precision,
        ),
        machine=f"{platform.machine()}, {os.cpu_count()} CPU",
        cpu_flags=cpu_flags_summary(),
        keras=keras.__version__,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    )
    loaded: dict = {}

    def splits(size: int) -> dict:
        if ("splits", size) not in loaded:
            loaded["splits", size] = loaders.load_datasets(
                course.root,
                size,
                args.batch_size,
                max_per_class=args.max_per_class,
                seed=args.seed,
                splits=("validation", "test"),
            )
        return loaded["splits", size]

    def images(size: int) -> tuple:
        if ("train", size) not in loaded:
            loaded["train", size] = load_images(course.root / "train", size, args.max_per_class)
        return loaded["train", size]

    steps = [s for s in args.steps.split(",") if s]
    record = dict(head, steps=[])
    order = STEPS + ("+early_stopping",)
    for step in steps:
        cfg = config_for(step)
        run = train(cfg, args, course, splits, args.seed, images, name=step)
        model = run.pop("model")
        if run["final"] is None:
            print(f"{step}: {run['epochs_done']} de {args.epochs} épocas; sigue con --resume", flush=True)
            continue
        record["steps"].append(
            dict(
                step=step,
                config=cfg,
                params=run["params"],
                test_accuracy=run["final"]["test"]["accuracy"],
                val_accuracy=run["final"]["validation"]["accuracy"],
                train_seconds=run["train_seconds"],
                history=run["history"],
            )
        )
        if step == STEPS[-1]:
            if args.save_model:
                model.save(args.save_model)
            record["steps"].append(
                dict(
                    step="+early_stopping",
                    config=dict(cfg, best_epoch=run["best_epoch"]),
                    params=run["params"],
                    test_accuracy=run["best"]["test"]["accuracy"],
                    val_accuracy=run["best"]["validation"]["accuracy"],
                    train_seconds=0.0,
                    history=run["history"],
                )
            )
        record["steps"].sort(key=lambda r: order.index(r["step"]))
        _write(Path(args.out), record)
        print(
            f"{step}: test accuracy {run['final']['test']['accuracy']:.3f} in {run['train_seconds']:.0f} s", flush=True
        )

    variants = [v for v in args.variants.split(",") if v]
    if variants:
        out = Path(args.variants_out)
        previous = json.loads(out.read_text()) if out.exists() else {}
        vrecord = dict(head, runs=previous.get("runs", []))
        for name in variants:
            cfg = dict(IMPROVED, **VARIANTS[name])
            for seed in (int(s) for s in args.seeds.split(",")):
                load_at_start = load_text()
                run = train(cfg, args, course, splits, seed, images, name=name)
                model = run.pop("model")
                if run["final"] is None:
                    print(f"{name} seed {seed}: {run['epochs_done']} épocas hechas; sigue con --resume")
                    continue
                model.save(Path(args.checkpoint_dir) / run_name(name, seed).replace(".npz", "_best.keras"))
                vrecord["runs"].append(
                    dict(
                        variant=name,
                        config=cfg,
                        settings=head["settings"],
                        precision=precision,
                        cpu_flags=head["cpu_flags"],
                        load_average_at_start=load_at_start,
                        load_average_at_end=load_text(),
                        command=head["command"],
                        **run,
                    )
                )
                _write(out, vrecord)
                print(f"{name} seed {seed}: {_summary(run)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
