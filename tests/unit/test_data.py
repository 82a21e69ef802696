"""Sentiment140 loader and splits: the three file shapes, errors, de-duplication, splits."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from captum_ext.data import (
    DataSplits,
    TextDataset,
    default_data_path,
    load_sentiment140,
    split_dataset,
)
from captum_ext.data import sentiment140 as s140_module
from captum_ext.errors import CaptumExtError, DataError, InputError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment140"


def write_folder(folder: Path, negative: str, positive: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "negative.txt").write_bytes(negative.encode(encoding))
    (folder / "positive.txt").write_bytes(positive.encode(encoding))
    return folder


def six_column_row(polarity: str, text: str, i: int = 0) -> str:
    # the original file quotes every field and has no header
    fields = [
        polarity,
        str(1467810369 + i),
        "Mon Apr 06 22:19:45 PDT 2009",
        "NO_QUERY",
        "user",
        text,
    ]
    return ",".join('"' + f.replace('"', '""') + '"' for f in fields) + "\n"


def norm(text: str) -> str:
    return " ".join(text.lower().split())


# ---------------------------------------------------------------- the three shapes


def test_folder_shape_skips_and_counts_blank_lines(tmp_path, caplog):
    folder = write_folder(
        tmp_path / "s140",
        negative="so sad today\r\n\r\nworst day ever  \r\n",
        positive="  love it\n\n\nbest   day ever\nwhat a game",  # no final newline
    )
    with caplog.at_level(logging.INFO, logger="captum_ext.data"):
        ds = load_sentiment140(folder)
    assert ds.texts == [
        "so sad today",
        "worst day ever",
        "love it",
        "best   day ever",
        "what a game",
    ]
    assert ds.labels.dtype == np.int64
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]
    assert ds.label_names == ("negative", "positive")
    assert ds.source == str(folder.absolute())
    assert len(ds) == 5
    log = caplog.text
    assert "negative.txt: read 2 tweets, skipped 1 blank lines" in log
    assert "positive.txt: read 3 tweets, skipped 2 blank lines" in log


def test_six_column_latin1_csv_with_non_ascii(tmp_path, caplog):
    path = tmp_path / "training.1600000.processed.noemoticon.csv"
    rows = (
        six_column_row("0", "caf\u00e9 was closed, so sad", 0)
        + six_column_row("2", "it is a tuesday", 1)
        + six_column_row("4", 'na\u00efve "fun", really &quot;good&quot;', 2)
    )
    path.write_bytes(rows.encode("latin-1"))
    assert b"caf\xe9" in path.read_bytes()  # really latin-1, not UTF-8
    with caplog.at_level(logging.INFO, logger="captum_ext.data"):
        ds = load_sentiment140(path)
    assert ds.texts == ["caf\u00e9 was closed, so sad", 'na\u00efve "fun", really &quot;good&quot;']
    assert ds.labels.tolist() == [0, 1]
    assert ds.label_names == ("negative", "positive")
    assert "1 neutral rows" in caplog.text
    assert "latin-1" in caplog.text


def test_six_column_csv_saved_as_utf8_is_not_garbled(tmp_path):
    path = tmp_path / "orig_utf8.csv"
    path.write_text(six_column_row("4", "caf\u00e9 \U0001f600"), encoding="utf-8")
    assert load_sentiment140(path).texts == ["caf\u00e9 \U0001f600"]


def test_keep_neutral(tmp_path):
    path = tmp_path / "orig.csv"
    path.write_text(
        six_column_row("0", "bad", 0)
        + six_column_row("2", "meh", 1)
        + six_column_row("4", "good", 2),
        encoding="latin-1",
    )
    ds = load_sentiment140(path, keep_neutral=True)
    assert ds.texts == ["bad", "meh", "good"]
    assert ds.labels.tolist() == [0, 2, 1]
    assert ds.label_names == ("negative", "positive", "neutral")
    assert load_sentiment140(path).labels.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("header", "neg", "pos"),
    [
        ("polarity,text\n", "0", "4"),
        ("", "0", "4"),
        ("label,tweet\n", "0", "1"),
        ("", "negative", "positive"),
        ("sentiment,text\n", "NEGATIVE", " Positive "),
    ],
)
def test_two_column_csv(tmp_path, header, neg, pos):
    path = tmp_path / "two.csv"
    body = f'{neg},"awful, just awful"\n{pos},great stuff \u2764\n\n{neg},"she said ""no"""\n'
    path.write_text(header + body, encoding="utf-8")
    ds = load_sentiment140(path)
    assert ds.texts == ["awful, just awful", "great stuff \u2764", 'she said "no"']
    assert ds.labels.tolist() == [0, 1, 0]


def test_two_column_csv_with_bom_header_and_neutral(tmp_path):
    path = tmp_path / "two.csv"
    path.write_bytes("polarity,text\n2,so-so\nneutral,fine\n4,yay\n".encode("utf-8-sig"))
    assert load_sentiment140(path).texts == ["yay"]
    kept = load_sentiment140(path, keep_neutral=True)
    assert kept.labels.tolist() == [2, 2, 1]


def test_limit_reads_at_most_n_rows_per_file(tmp_path):
    folder = write_folder(
        tmp_path / "f",
        "\n".join(f"neg {i}" for i in range(10)) + "\n",
        "\n".join(f"pos {i}" for i in range(10)) + "\n",
    )
    ds = load_sentiment140(folder, limit=3)
    assert ds.texts == ["neg 0", "neg 1", "neg 2", "pos 0", "pos 1", "pos 2"]
    path = tmp_path / "two.csv"
    path.write_text("0,a\n2,n\n4,b\n0,c\n4,d\n", encoding="utf-8")
    assert load_sentiment140(path, limit=2).texts == ["a", "b"]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="limit"):
            load_sentiment140(folder, limit=bad)


def test_limit_on_a_sorted_csv_warns_about_a_single_class(tmp_path, caplog):
    path = tmp_path / "orig.csv"
    path.write_text(
        "".join(six_column_row("0", f"sad {i}", i) for i in range(5)), encoding="latin-1"
    )
    with caplog.at_level(logging.WARNING, logger="captum_ext.data"):
        ds = load_sentiment140(path, limit=3)
    assert ds.labels.tolist() == [0, 0, 0]
    assert "no positive tweets" in caplog.text and ".sample(n)" in caplog.text


# ---------------------------------------------------------------- errors


def assert_names(error: DataError, path: Path, line: int | None) -> str:
    message = str(error)
    assert isinstance(error, CaptumExtError)
    assert error.path == str(path)
    assert str(path) in message
    assert error.line == line
    if line is not None:
        assert f"line {line}:" in message
    return message


def test_error_missing_path_lists_accepted_shapes(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as info:
        load_sentiment140(missing)
    message = assert_names(info.value, missing, None)
    assert "positive.txt and negative.txt" in message
    assert "six-column" in message and "polarity,text" in message


def test_error_folder_without_the_txt_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "positive.txt").write_text("yay\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(folder)
    message = assert_names(info.value, folder, None)
    assert "no negative.txt" in message and "positive.txt" not in message.split("needs")[0]
    (folder / "positive.txt").unlink()
    (folder / "training.csv").write_text("0,a\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(folder)
    message = assert_names(info.value, folder, None)
    assert "no positive.txt and no negative.txt" in message
    assert "training.csv: pass that CSV file instead" in message


@pytest.mark.parametrize("content", [b"", b"\n \n\r\n", b"\xef\xbb\xbf"])
def test_error_empty_file(tmp_path, content):
    folder = write_folder(tmp_path / "f", "sad\n", "")
    (folder / "positive.txt").write_bytes(content)
    with pytest.raises(DataError) as info:
        load_sentiment140(folder)
    assert "is empty" in assert_names(info.value, folder / "positive.txt", None)
    csv_path = tmp_path / "empty.csv"
    csv_path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_sentiment140(csv_path)
    assert "is empty" in assert_names(info.value, csv_path, None)


def test_error_header_only_csv(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("polarity,text\n\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    assert "header but no rows" in assert_names(info.value, path, 1)


def test_error_wrong_column_count(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("polarity,text\n0,fine\n\n4,not, quoted\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    message = assert_names(info.value, path, 4)
    assert "3 columns, expected 2" in message and "double quotes" in message
    orig = tmp_path / "orig.csv"
    orig.write_text(six_column_row("0", "ok") + '"4","1","date","NO_QUERY","text"\n', "latin-1")
    with pytest.raises(DataError) as info:
        load_sentiment140(orig)
    assert "5 columns, expected 6" in assert_names(info.value, orig, 2)


def test_error_unsupported_number_of_columns(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("\n0,a,b\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    message = assert_names(info.value, path, 2)
    assert "3 columns" in message and "polarity,id,date,query,user,text" in message


def test_error_unknown_polarity_lists_accepted_values(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("0,a\n4,b\n3,c\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    message = assert_names(info.value, path, 3)
    assert "'3'" in message and "accepted: 0 or negative, 1 or 4 or positive" in message
    orig = tmp_path / "orig.csv"
    orig.write_text(six_column_row("0", "a") + six_column_row("1", "b"), encoding="latin-1")
    with pytest.raises(DataError) as info:
        load_sentiment140(orig)
    assert "accepted: 0 (negative), 2 (neutral), 4 (positive)" in assert_names(info.value, orig, 2)


def test_error_txt_not_utf8(tmp_path):
    folder = write_folder(
        tmp_path / "f", "sad\n", "happy\nnice\ncaf\u00e9 time\n", encoding="latin-1"
    )
    with pytest.raises(DataError) as info:
        load_sentiment140(folder)
    message = assert_names(info.value, folder / "positive.txt", 3)
    assert "not valid UTF-8" in message and "0xe9" in message
    assert "save it as UTF-8" in message and "iconv -f latin1" in message


def test_error_two_column_csv_not_utf8(tmp_path):
    path = tmp_path / "two.csv"
    path.write_bytes("polarity,text\n0,ok\n4,na\u00efve\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    assert "save it as UTF-8" in assert_names(info.value, path, 3)


def test_error_unclosed_quote_at_end(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text('0,fine\n4,"oops\n0,more\n0,and more\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    assert "unclosed double quote" in assert_names(info.value, path, 2)


def test_error_unclosed_quote_swallowing_a_huge_field(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text('0,fine\n\n4,"oops\n' + "0,more text\n" * 20_000, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    assert "unclosed double quote" in assert_names(info.value, path, 3)


def test_error_all_rows_dropped(tmp_path):
    path = tmp_path / "orig.csv"
    path.write_text(six_column_row("2", "meh") + six_column_row("2", "so-so", 1), "latin-1")
    with pytest.raises(DataError) as info:
        load_sentiment140(path)
    assert "keep_neutral=True" in assert_names(info.value, path, None)


# ---------------------------------------------------------------- de-duplication


def test_loader_drops_duplicates_keeping_the_first_copy(tmp_path, caplog):
    folder = write_folder(
        tmp_path / "f",
        negative="Same  old day\nonly sad\nonly sad\n",
        positive="same old DAY\nhappy\n  only   SAD \n",
    )
    with caplog.at_level(logging.INFO, logger="captum_ext.data"):
        ds = load_sentiment140(folder)
    assert ds.texts == ["Same  old day", "only sad", "happy"]
    assert ds.labels.tolist() == [0, 0, 1]
    assert "dropped 3 duplicate tweets (2 with a conflicting label" in caplog.text


def test_split_drops_duplicates_so_no_test_tweet_is_a_training_tweet(caplog):
    rng = np.random.default_rng(0)
    base = [f"tweet number {i}" for i in range(40)]
    # every tweet three times, in other case and spacing, in random order
    texts = [t for t in base] + [t.upper() for t in base] + [t.replace(" ", "  ") for t in base]
    order = rng.permutation(len(texts))
    ds = TextDataset([texts[i] for i in order], [int(i % 40 < 20) for i in order])
    with caplog.at_level(logging.WARNING, logger="captum_ext.data"):
        splits = split_dataset(ds, test_size=0.25, val_size=0.25, seed=3)
    assert "dropped 80 duplicate tweets" in caplog.text
    keys = {name: {norm(t) for t in part.texts} for name, part in zip("tvs", splits, strict=True)}
    assert not keys["t"] & keys["s"] and not keys["t"] & keys["v"] and not keys["v"] & keys["s"]
    assert keys["t"] | keys["v"] | keys["s"] == {norm(t) for t in base}
    assert (len(splits.train), len(splits.val), len(splits.test)) == (20, 10, 10)


# ---------------------------------------------------------------- splits and samples


def make_dataset(n_neg: int, n_pos: int) -> TextDataset:
    texts = [f"neg {i}" for i in range(n_neg)] + [f"pos {i}" for i in range(n_pos)]
    return TextDataset(texts, [0] * n_neg + [1] * n_pos, source="mem")


def test_split_sizes_stratified_and_disjoint():
    ds = make_dataset(80, 20)
    splits = split_dataset(ds, test_size=0.1, val_size=15, seed=0)
    assert isinstance(splits, DataSplits)
    # test: 10 rows at 80/20 -> 8 + 2; val: 15 of the remaining 72/18 -> 12 + 3
    assert Counter(splits.test.labels.tolist()) == {0: 8, 1: 2}
    assert Counter(splits.val.labels.tolist()) == {0: 12, 1: 3}
    assert Counter(splits.train.labels.tolist()) == {0: 60, 1: 15}
    all_texts = splits.train.texts + splits.val.texts + splits.test.texts
    assert sorted(all_texts) == sorted(ds.texts)
    for part in splits:
        assert part.source == "mem" and part.label_names == ds.label_names
        assert all(
            t.startswith(("neg", "pos")[label])
            for t, label in zip(part.texts, part.labels, strict=True)
        )


def test_split_fraction_rounding_and_empty_val():
    ds = make_dataset(50, 50)
    splits = split_dataset(ds, test_size=0.1, val_size=0, seed=1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (90, 0, 10)
    odd = split_dataset(make_dataset(5, 6), test_size=0.25, val_size=0.25, seed=0)
    assert (len(odd.train), len(odd.val), len(odd.test)) == (5, 3, 3)  # ceil(2.75) = 3


def test_split_is_deterministic_for_a_seed():
    ds = make_dataset(60, 40)
    a = split_dataset(ds, seed=7)
    b = split_dataset(ds, seed=7)
    c = split_dataset(ds, seed=8)
    assert [p.texts for p in a] == [p.texts for p in b]
    assert [p.fingerprint for p in a] == [p.fingerprint for p in b]
    assert a.test.texts != c.test.texts


@pytest.mark.parametrize(
    ("test_size", "val_size", "match"),
    [
        (1.0, 0.1, "test_size"),
        (-0.1, 0.1, "test_size"),
        (0.1, -1, "val_size"),
        (0.1, 101, "val_size"),
        ("0.1", 0.1, "test_size"),
        (True, 0.1, "test_size"),
        (0.5, 0.5, "leave no training rows"),
        (60, 40, "leave no training rows"),
    ],
)
def test_split_impossible_sizes(test_size, val_size, match):
    with pytest.raises(InputError, match=match):
        split_dataset(make_dataset(50, 50), test_size=test_size, val_size=val_size)


def test_sample_balanced_and_deterministic():
    ds = make_dataset(90, 30)
    s = ds.sample(40, seed=5)
    assert Counter(s.labels.tolist()) == {0: 20, 1: 20}
    assert len(set(s.texts)) == 40 and set(s.texts) <= set(ds.texts)
    assert s.texts == ds.sample(40, seed=5).texts
    assert s.texts != ds.sample(40, seed=6).texts
    # the odd row goes to the smaller label
    assert Counter(ds.sample(41, seed=0).labels.tolist()) == {0: 20, 1: 21}
    unstratified = ds.sample(120, seed=0, stratify=False)
    assert sorted(unstratified.texts) == sorted(ds.texts)
    assert unstratified.texts != ds.texts  # shuffled
    assert (
        ds.sample(40, seed=5, stratify=False).texts == ds.sample(40, seed=5, stratify=False).texts
    )


def test_sample_when_a_label_is_short(caplog):
    ds = make_dataset(8, 2)
    with caplog.at_level(logging.WARNING, logger="captum_ext.data"):
        s = ds.sample(6, seed=0)
    assert Counter(s.labels.tolist()) == {0: 4, 1: 2}
    assert "not enough rows for a balanced sample" in caplog.text
    for bad in (0, 11, 2.0, True):
        with pytest.raises(InputError, match="n must be an int"):
            ds.sample(bad)


# ---------------------------------------------------------------- TextDataset


def test_fingerprint_is_a_hash_of_the_rows():
    ds = TextDataset(["good day", "bad day"], [1, 0], source="a.csv")
    expected = hashlib.sha256(b"1:8:good day\n0:7:bad day\n").hexdigest()[:16]
    assert ds.fingerprint == expected
    assert TextDataset(["good day", "bad day"], [1, 0], source="b.csv") == ds
    assert TextDataset(["bad day", "good day"], [0, 1]).fingerprint != ds.fingerprint
    assert TextDataset(["good day", "bad day"], [1, 1]).fingerprint != ds.fingerprint
    assert ds.subset([1]).fingerprint == TextDataset(["bad day"], [0]).fingerprint
    with pytest.raises(InputError, match="does not match"):
        TextDataset(["x"], [0], fingerprint="0" * 16)


def test_text_dataset_is_immutable_and_validated():
    labels = np.array([0, 1])
    ds = TextDataset(["a", "b"], labels)
    labels[0] = 1  # the caller's array is copied
    assert ds.labels.tolist() == [0, 1]
    with pytest.raises(ValueError):
        ds.labels[0] = 1
    with pytest.raises(AttributeError):
        ds.source = "x"  # type: ignore[misc]
    with pytest.raises(InputError, match="one integer per text"):
        TextDataset(["a", "b"], [0])
    with pytest.raises(InputError, match=r"labels must be in \[0, 1\]"):
        TextDataset(["a"], [2])
    with pytest.raises(InputError, match="must be integers"):
        TextDataset(["a"], [0.5])
    with pytest.raises(InputError, match="single str"):
        TextDataset("ab", [0, 1])
    assert "n=2" in repr(ds) and "negative=1" in repr(ds)


def test_subset_by_indices_and_mask():
    ds = make_dataset(3, 2)
    assert ds.subset([4, 0]).texts == ["pos 1", "neg 0"]
    assert ds.subset(np.array([True, False, False, True, False])).labels.tolist() == [0, 1]
    assert len(ds.subset([])) == 0
    with pytest.raises(InputError, match="indices must be in"):
        ds.subset([5])
    with pytest.raises(InputError, match="boolean mask"):
        ds.subset([True, False])


# ---------------------------------------------------------------- default_data_path


def test_default_data_path_from_env(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "mine", "sad\n", "happy\n")
    monkeypatch.setenv("CAPTUM_EXT_DATA", str(folder))
    assert default_data_path() == folder
    monkeypatch.setenv("CAPTUM_EXT_DATA", str(tmp_path / "gone"))
    with pytest.raises(DataError) as info:
        default_data_path()
    assert "CAPTUM_EXT_DATA" in str(info.value) and str(tmp_path / "gone") in str(info.value)


def test_default_data_path_walks_up(tmp_path, monkeypatch):
    monkeypatch.delenv("CAPTUM_EXT_DATA", raising=False)
    root = tmp_path / "root"
    data = root / "shared" / "data" / "sentiment140"
    data.mkdir(parents=True)
    deep = root / "repo" / "sub" / "dir"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert default_data_path() == data
    # nothing above the current directory: found from the package's own location
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    pkg = root / "fresh" / "captum_ext" / "data"
    pkg.mkdir(parents=True)
    monkeypatch.setattr(s140_module, "__file__", str(pkg / "sentiment140.py"))
    assert default_data_path() == data


def test_default_data_path_not_found(tmp_path, monkeypatch):
    monkeypatch.delenv("CAPTUM_EXT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(s140_module, "__file__", str(tmp_path / "pkg" / "sentiment140.py"))
    if any((p / "shared" / "data" / "sentiment140").is_dir() for p in tmp_path.parents):
        pytest.skip("a shared/data/sentiment140 folder exists above the temporary directory")
    with pytest.raises(DataError, match="pass --data PATH .* or set CAPTUM_EXT_DATA"):
        default_data_path()


# ---------------------------------------------------------------- the real shared sample


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data folder {SHARED} not present")
def test_real_shared_folder():
    keys: dict[str, int] = {}
    for label, name in ((0, "negative.txt"), (1, "positive.txt")):
        # split on "\n" only: some tweets hold U+0085, which str.splitlines() breaks on
        lines = (SHARED / name).read_text(encoding="utf-8").rstrip("\n").split("\n")
        assert len(lines) == 50_000
        for line in lines:
            keys.setdefault(norm(line), label)
    start = time.perf_counter()
    ds = load_sentiment140(SHARED)
    elapsed = time.perf_counter() - start
    assert len(ds) == len(keys) and 99_000 < len(ds) < 100_000
    counts = Counter(ds.labels.tolist())
    assert counts == Counter(keys.values())
    assert abs(counts[0] - counts[1]) / len(ds) < 0.01
    assert elapsed < 5.0  # ~0.5 s here; loose bound for a busy machine
    train, val, test = split_dataset(ds, seed=0)
    assert not {norm(t) for t in train.texts} & {norm(t) for t in test.texts}


def test_quoted_line_break_is_kept_and_logged(tmp_path, caplog):
    path = tmp_path / "two.csv"
    path.write_text('0,fine\n4,"two\nlines"\n0,"last\none"\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="captum_ext.data"):
        ds = load_sentiment140(path)
    assert ds.texts == ["fine", "two\nlines", "last\none"]
    assert "2 rows span several lines" in caplog.text and "first on line 2" in caplog.text
