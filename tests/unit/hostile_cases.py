"""A table of hostile command-line inputs: every command x bad paths, seeds, devices, texts.

Shared by ``tests/unit/test_hostile_inputs.py`` (in-process, on a tiny random model) and
``benchmarks/hostile_sweep.py`` (real processes, counting tracebacks and hangs).

Each :class:`Case` is a command line with placeholders filled by :func:`make_workspace`:
``{model}`` (a checkpoint folder), ``{data}`` (a Sentiment140 folder), ``{w}`` (a scratch folder
holding the planted files below) and ``{ro}`` (a folder that cannot be written, even by root: a
path under ``/proc``, where no file can be created; ``chmod`` does not stop root).

Unwritable or wrong-type paths are simulated without permissions, so the table holds as root:
``{w}/file.txt`` is a regular file (an ``--out`` that is a file), ``{w}/file.txt/sub`` a path
under a regular file (cannot be created), ``{w}/dir`` an existing folder (a ``--store`` or
``--text-file`` that is a folder), ``{ro}/x`` a path on ``/proc``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["COMMANDS", "Case", "all_cases", "make_workspace"]

RO = "/proc/captum-ext-no-such-dir"  # mkdir fails here for every user, root included


@dataclass(frozen=True)
class Case:
    """One hostile command line: ``argv`` (placeholders), how stdin is given, the expectation."""

    id: str
    argv: tuple[str, ...]
    stdin: str | bytes | None = None  # None: empty input; "closed": no stdin at all; bytes
    expect: str = "error"  # "error": exit 2, one line; "ok": exit 0; "any": no traceback/hang
    fragments: tuple[str, ...] = field(default=())  # must be in the error line
    slow: bool = False  # computes before failing (kept out of the unit test)

    def fill(self, ws: dict[str, str]) -> list[str]:
        return [a.format(**ws) for a in self.argv]


# A valid command line per command (tiny settings); the hostile cases change one thing each.
COMMANDS: dict[str, tuple[str, ...]] = {
    "explain": ("explain", "nice day", "--method", "occlusion", "--model", "{model}"),
    "pick": (
        "pick", "--data", "{data}", "--n", "6", "--sample-size", "2", "--n-samples", "10",
        "--budget", "1", "--no-progress", "--model", "{model}",
    ),
    "influence": (
        "influence", "nice day", "--data", "{data}", "--sample", "20", "--k", "2",
        "--fidelity-n", "0", "--model", "{model}",
    ),
    "audit": (
        "audit", "--data", "{data}", "--sample", "20", "--method", "knn", "--k", "2",
        "--model", "{model}",
    ),
    "demo": ("demo", "--methods", "occlusion", "--out", "{w}/demo", "--model", "{model}"),
    "compare": (
        "compare", "--text", "nice day", "--methods", "occlusion", "--out", "{w}/cmp",
        "--no-faithfulness", "--stability-seeds", "", "--no-progress", "--model", "{model}",
    ),
    "finetune": (
        "finetune", "--data", "{data}", "--n-train", "8", "--epochs", "1", "--out", "{w}/ft",
        "--base", "{model}",
    ),
    "attention": ("attention", "nice day", "--out", "{w}/att", "--model", "{model}"),
    "embeddings": (
        "embeddings", "--data", "{data}", "--n", "6", "--out", "{w}/emb", "--quiet",
        "--model", "{model}",
    ),
    "heads": (
        "heads", "--data", "{data}", "--n", "4", "--n-eval", "4", "--steps", "1", "--no-masking",
        "--out", "{w}/heads", "--quiet", "--model", "{model}",
    ),
    "probe": (
        "probe", "--data", "{data}", "--n", "10", "--cv", "2", "--tasks", "sentiment",
        "--out", "{w}/probe", "--cache-dir", "{w}/probe-cache", "--quiet", "--model", "{model}",
    ),
    "behaviour": ("behaviour", "--out", "{w}/beh", "--explain", "none", "--quiet", "--model", "{model}"),
    "evaluate": ("evaluate", "--parts", "human", "--data", "{data}", "--model", "{model}"),
}  # fmt: skip

_OUT_FOLDER = (
    "demo",
    "compare",
    "finetune",
    "attention",
    "embeddings",
    "heads",
    "probe",
    "behaviour",
)
_SEEDED = ("explain", "pick", "influence", "audit", "demo", "compare", "finetune", "embeddings",
           "heads", "probe", "behaviour")  # fmt: skip
_MODEL = tuple(c for c in COMMANDS if c != "finetune")
_LABEL_MAP = tuple(COMMANDS)  # every command takes --label-map
_TEXT_FILE = ("explain", "influence")


def _set(argv: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    """``argv`` with ``option``'s value replaced (or the option added)."""
    a = list(argv)
    if option in a:
        a[a.index(option) + 1] = value
    else:
        a += [option, value]
    return tuple(a)


def _drop_text(argv: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(x for x in argv if x != "nice day")


def all_cases() -> list[Case]:
    """The whole table (about 190 cases over the 12 commands and ``methods``)."""
    cases: list[Case] = []
    add = cases.append
    for cmd, base in COMMANDS.items():
        if cmd in _SEEDED:
            for seed in ("-1", str(2**32), str(2**40)):
                add(Case(f"{cmd}-seed{seed}", _set(base, "--seed", seed), fragments=("--seed",)))
        if cmd in _MODEL:
            for dev in ("bogus", "cuda:99", "meta", "", "cuda:-1"):
                add(Case(f"{cmd}-device-{dev or 'empty'}", _set(base, "--device", dev),
                         fragments=("--device",)))  # fmt: skip
            add(Case(f"{cmd}-batch-size-0", _set(base, "--batch-size", "0"),
                     fragments=("--batch-size",)))  # fmt: skip
            add(Case(f"{cmd}-model-missing", _set(base, "--model", "{w}/no-model")))
            add(Case(f"{cmd}-model-is-file", _set(base, "--model", "{w}/file.txt")))
        if cmd in _OUT_FOLDER:
            for kind, path in (("file", "{w}/file.txt"), ("under-file", "{w}/file.txt/sub"),
                               ("proc", RO + "/out"), ("dev-null", "/dev/null")):  # fmt: skip
                add(Case(f"{cmd}-out-{kind}", _set(base, "--out", path), fragments=("--out",)))
    # devices that exist nowhere here: cuda without CUDA is checked where there is none
    for cmd in ("explain", "attention", "demo"):
        add(Case(f"{cmd}-device-cuda", _set(COMMANDS[cmd], "--device", "cuda"), expect="no-cuda",
                 fragments=("--device",)))  # fmt: skip
    # cache folders
    for cmd in ("influence", "audit", "probe"):
        base = COMMANDS[cmd]
        for kind, path in (("file", "{w}/file.txt"), ("under-file", "{w}/file.txt/sub"),
                           ("proc", RO + "/cache")):  # fmt: skip
            add(Case(f"{cmd}-cache-{kind}", _set(base, "--cache-dir", path),
                     fragments=("--cache-dir",)))  # fmt: skip
    add(Case("influence-cache-corrupt", _set(COMMANDS["influence"], "--cache-dir", "{w}/badcache"),
             fragments=("cache",)))  # fmt: skip
    add(Case("audit-cache-corrupt", _set(COMMANDS["audit"], "--cache-dir", "{w}/badcache"),
             fragments=("cache",)))  # fmt: skip
    # the pick store
    pick = COMMANDS["pick"]
    for kind, path in (("dir", "{w}/dir"), ("under-file", "{w}/file.txt/s.jsonl"),
                       ("proc", RO + "/s.jsonl"), ("binary", "{w}/binary.bin"),
                       ("not-json", "{w}/notjson.jsonl"), ("json-lists", "{w}/lists.jsonl"),
                       ("wrong-fields", "{w}/fields.jsonl")):  # fmt: skip
        add(Case(f"pick-store-{kind}", _set(pick, "--store", path), fragments=("store",)))
    # audit --out is a file
    audit = COMMANDS["audit"]
    for kind, path in (("dir", "{w}/dir"), ("under-file", "{w}/file.txt/a.csv"),
                       ("proc", RO + "/a.csv")):  # fmt: skip
        add(Case(f"audit-out-{kind}", _set(audit, "--out", path), fragments=("--out",)))
    # --queries
    knn = _set(audit, "--method", "knn")
    for kind, path in (("missing", "{w}/missing.txt"), ("dir", "{w}/dir"), ("empty", "{w}/empty.txt"),
                       ("binary", "{w}/binary.bin"), ("nul", "{w}/nul.txt")):  # fmt: skip
        add(Case(f"audit-queries-{kind}", _set(knn, "--queries", path), fragments=("--queries",)))
    # texts: files, stdin, odd texts
    for cmd in _TEXT_FILE:
        base = _drop_text(COMMANDS[cmd])
        for kind, path in (("dir", "{w}/dir"), ("missing", "{w}/missing.txt"),
                           ("binary", "{w}/binary.bin"), ("empty", "{w}/empty.txt"),
                           ("blank", "{w}/blank.txt"), ("nul", "{w}/nul.txt"),
                           ("proc-dir", "/proc/self"), ("dev-zero", "/dev/zero")):  # fmt: skip
            add(Case(f"{cmd}-text-file-{kind}", _set(base, "--text-file", path),
                     fragments=("--text-file",)))  # fmt: skip
        add(Case(f"{cmd}-stdin-dash-closed", _set(base, "--text-file", "-"), stdin="closed"))
        add(
            Case(
                f"{cmd}-stdin-dash-binary",
                _set(base, "--text-file", "-"),
                stdin=b"\xff\xfe\x00bad\n",
            )
        )
        add(Case(f"{cmd}-stdin-closed", base, stdin="closed"))
        add(Case(f"{cmd}-stdin-binary", base, stdin=b"\x80\x81 not utf-8\n"))
        add(Case(f"{cmd}-stdin-nul", base, stdin=b"\x00\n\x00\x00\n"))
        add(Case(f"{cmd}-stdin-empty", base, stdin=b""))
        # (argv cannot hold a NUL byte: NUL lines come through files and stdin above)
        for kind, text in (("soh", "\x01"), ("blank", "   "), ("controls", "\x1b\x07\x08")):
            add(Case(f"{cmd}-text-{kind}", (*base, text)))
    for kind, text in (("soh", "\x01\x02"), ("blank", " \t "), ("bell", "\x07\x07")):
        add(
            Case(
                f"attention-text-{kind}",
                ("attention", text, "--out", "{w}/att2", "--model", "{model}"),
            )
        )
    emb = COMMANDS["embeddings"]
    for kind, path in (("dir", "{w}/dir"), ("binary", "{w}/binary.bin"), ("missing", "{w}/missing.txt"),
                       ("nul", "{w}/nul.txt")):  # fmt: skip
        add(Case(f"embeddings-text-file-{kind}", _set(emb, "--text-file", path),
                 fragments=("--text-file",)))  # fmt: skip
    # method lists
    for cmd in ("demo", "compare"):
        for kind, value in (("commas", ",,,"), ("comma", ","), ("blank", " , "), ("empty", ""),
                            ("unknown", "nope")):  # fmt: skip
            add(Case(f"{cmd}-methods-{kind}", _set(COMMANDS[cmd], "--methods", value),
                     fragments=("--methods",) if kind != "unknown" else ()))  # fmt: skip
    add(Case("explain-method-unknown", _set(COMMANDS["explain"], "--method", "nope")))
    add(Case("behaviour-explain-unknown", _set(COMMANDS["behaviour"], "--explain", "nope")))
    add(Case("probe-tasks-empty", _set(COMMANDS["probe"], "--tasks", ","), fragments=("--tasks",)))
    # corrupt run folders and data
    add(Case("compare-records-corrupt", _set(COMMANDS["compare"], "--out", "{w}/badrun")))
    cmp_data = tuple(a for a in COMMANDS["compare"] if a not in ("--text", "nice day"))
    for kind, path in (("binary-txt", "{w}/binary.txt"), ("dev-zero", "/dev/zero"),
                       ("missing", "{w}/missing.txt"), ("nul-txt", "{w}/nul.txt")):  # fmt: skip
        add(Case(f"compare-data-{kind}", (*cmp_data, "--data", path)))
    for cmd in ("pick", "influence", "audit", "embeddings", "heads", "probe", "finetune"):
        base = COMMANDS[cmd]
        add(Case(f"{cmd}-data-missing", _set(base, "--data", "{w}/missing")))
        add(Case(f"{cmd}-data-binary", _set(base, "--data", "{w}/binary.bin")))
        add(Case(f"{cmd}-data-empty-dir", _set(base, "--data", "{w}/dir")))
        add(Case(f"{cmd}-data-dev-zero", _set(base, "--data", "/dev/zero")))
    # numbers
    for cmd, opt in (("pick", "--n"), ("influence", "--k"), ("audit", "--k"), ("embeddings", "--n"),
                     ("heads", "--n"), ("probe", "--n"), ("compare", "--k"), ("finetune", "--epochs"),
                     ("probe", "--cv"), ("heads", "--steps"), ("audit", "--top"),
                     ("influence", "--l2"), ("audit", "--folds")):  # fmt: skip
        add(Case(f"{cmd}{opt}-0", _set(COMMANDS[cmd], opt, "0"), fragments=(opt,)))
    add(Case("probe-n-3", _set(COMMANDS["probe"], "--n", "3"), fragments=("--n",)))
    # the verdict's options
    for opt, value in (("--sanity-texts", "-1"), ("--ground-truth", "-1"), ("--metrics", ","),
                       ("--metrics", "nope"), ("--randomisation-levels", "middle")):  # fmt: skip
        add(Case(f"compare{opt}-{value.strip('-,') or 'empty'}", (*COMMANDS["compare"], opt, value),
                 fragments=(opt,) if value != "nope" else ("nope",)))  # fmt: skip
    # --label-map: malformed maps fail before any work; a class the model lacks once it is loaded
    for cmd in _LABEL_MAP:
        for kind, value in (("garbage", "garbage"), ("bad-json", '{{"negative": '),
                            ("json-list", "[0, 1]"), ("no-class", "negative="),
                            ("two-equals", "negative=0=1"), ("empty", ""),
                            ("missing-file", "{w}/missing.json"),
                            ("unknown-class", "negative=9,positive=nope")):  # fmt: skip
            if cmd == "finetune" and kind == "unknown-class":
                continue  # finetune's map names the classes it creates: any name is one
            add(Case(f"{cmd}-label-map-{kind}", _set(COMMANDS[cmd], "--label-map", value),
                     fragments=("--label-map",)))  # fmt: skip
    ev = COMMANDS["evaluate"]
    for opt, value in (("--parts", ","), ("--parts", "nope"), ("--lexicon-n", "1"),
                       ("--lexicon-threshold", "1.5")):  # fmt: skip
        add(Case(f"evaluate{opt}-{value.strip(',.') or 'empty'}", (*ev, opt, value),
                 fragments=(opt,)))  # fmt: skip
    for kind, path in (("missing", "{w}/missing"), ("empty-dir", "{w}/dir"),
                       ("file", "{w}/file.txt")):  # fmt: skip
        add(Case(f"evaluate-data-{kind}", _set(ev, "--data", path), fragments=("--data",)))
    add(Case("methods-ok", ("methods",), expect="ok"))
    return cases


def make_workspace(root: Path, model: str | Path, data: str | Path) -> dict[str, str]:
    """Plant the files the cases name under ``root``; return the placeholder values."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "file.txt").write_text("a file, not a folder\n", encoding="utf-8")
    (root / "dir").mkdir(exist_ok=True)
    (root / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (root / "binary.txt").write_bytes(b"\xff\xfe\x80 not utf-8\n")
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.txt").write_text("  \n\t\n\n", encoding="utf-8")
    (root / "nul.txt").write_bytes(b"\x00\n\x00\x00\n")
    (root / "notjson.jsonl").write_text('not json\n{"kind": 1}\n', encoding="utf-8")
    (root / "lists.jsonl").write_text("[1, 2]\n[3]\n", encoding="utf-8")
    (root / "fields.jsonl").write_text(
        '{"kind": "header", "settings": {}}\n{"kind": "explanation", "bogus": 1}\n',
        encoding="utf-8",
    )
    bad = root / "badcache"
    bad.mkdir(exist_ok=True)
    (bad / "meta.json").write_text(json.dumps({"format": 1, "n": 3, "dim": 4}), encoding="utf-8")
    (bad / "features.npy").write_bytes(b"\x93NUMPY garbage")
    (bad / "logits.npy").write_bytes(b"garbage")
    run = root / "badrun"
    run.mkdir(exist_ok=True)
    (run / "records.jsonl").write_bytes(b"\xff\xfe garbage\n" * 3 + b"{}\n")
    return {"model": str(model), "data": str(data), "w": str(root), "ro": RO}
