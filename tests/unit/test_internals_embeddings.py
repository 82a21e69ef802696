"""Embedding maps and word-in-context distances against hidden states, sklearn and scipy."""

from __future__ import annotations

import re

import numpy as np
import pytest
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.internals import (
    EXAMPLE_CONTEXTS,
    embedding_map,
    project,
    sentence_embeddings,
    token_embeddings,
    word_in_context,
)
from captum_ext.internals.embeddings import resolve_layer

TEXTS = [
    "what a lovely day",
    "<script>alert('x')</script> so bad",
    "i can't believe it",
    "@joe see you soon",
    "never again, awful",
    "sunshine and ice cream",
]
LABELS = [1, 0, 0, 1, 0, 1]


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    return TextClassifierAdapter.from_pretrained(tiny_bert_dir)


@pytest.mark.parametrize("layer", [0, 1, -1])
def test_sentence_embeddings_equal_pooled_hidden_states(adapter, layer):
    X = sentence_embeddings(adapter, TEXTS, layer=layer)
    for i, t in enumerate(TEXTS):
        hs = adapter.hidden_states(t)[layer]
        np.testing.assert_allclose(X[i], hs[1:-1].mean(axis=0), atol=1e-5)
    cls = sentence_embeddings(adapter, TEXTS, layer=layer, pooling="cls")
    np.testing.assert_allclose(cls[0], adapter.hidden_states(TEXTS[0])[layer][0], atol=1e-5)


def test_word_vectors_average_their_pieces(adapter):
    X, frame = token_embeddings(adapter, TEXTS, layer=1, level="word")
    enc = adapter.encode(TEXTS[2])  # "i can ' t believe it"
    hs = adapter.hidden_states(TEXTS[2])[1]
    rows = frame.index[frame["text_index"] == 2].tolist()
    assert frame.loc[rows, "token"].tolist() == enc.words
    for r, positions in zip(rows, enc.word_token_positions, strict=True):
        np.testing.assert_allclose(X[r], hs[positions].mean(axis=0), atol=1e-5)
    Xt, ft = token_embeddings(adapter, TEXTS, layer=1, level="token")
    n_pieces = sum(len(adapter.encode(t).input_ids) - 2 for t in TEXTS)
    assert len(Xt) == len(ft) == n_pieces


def test_project_pca_matches_sklearn_and_tsne_is_seeded():
    from sklearn.decomposition import PCA

    X = np.random.default_rng(0).normal(size=(30, 5))
    np.testing.assert_allclose(project(X), PCA(2, random_state=0).fit_transform(X))
    a = project(X, "tsne", random_state=1)
    np.testing.assert_allclose(a, project(X, "tsne", random_state=1))
    assert a.shape == (30, 2)


def test_umap_needs_its_package():
    X = np.random.default_rng(0).normal(size=(20, 4))
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pip install umap-learn"):
            project(X, "umap")
    else:
        assert project(X, "umap", random_state=0).shape == (20, 2)


def test_embedding_map_html_is_escaped_and_self_contained(adapter, tmp_path):
    m = embedding_map(adapter, TEXTS, LABELS, layer=0)
    assert m.coords.shape == (6, 2) and len(m.explained_variance) == 2
    assert m.to_frame()["label"].tolist() == [adapter.labels[v] for v in LABELS]
    page = m.to_html()
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; so bad" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert page.count("<circle") == 6
    m.plot(tmp_path / "m.svg")
    assert b"<svg" in (tmp_path / "m.svg").read_bytes()[:2000]


def test_embedding_map_word_level_colour_by_word(adapter):
    m = embedding_map(
        adapter, TEXTS, level="word", color_by="word", words=["so", "bad", "awful"], layer=-1
    )
    assert set(m.frame["token"].str.lower()) <= {"so", "bad", "awful"}
    assert set(m.frame["color"]) <= {"so", "bad", "awful"}
    assert (m.frame["label_source"] == "predicted").all()


def test_bad_arguments(adapter):
    assert resolve_layer(-1, 2) == 2 and resolve_layer(0, 2) == 0
    with pytest.raises(InputError, match=r"layer must be in \[0, 2\]"):
        embedding_map(adapter, TEXTS, layer=3)
    with pytest.raises(InputError, match="method"):
        embedding_map(adapter, TEXTS, method="mds")
    with pytest.raises(InputError, match="color_by='word' needs"):
        embedding_map(adapter, TEXTS, color_by="word")
    with pytest.raises(InputError, match="none of words"):
        embedding_map(adapter, TEXTS, level="word", words=["zebra"])


def test_word_in_context_distances_match_scipy(adapter):
    from scipy.spatial.distance import cdist

    texts, groups = EXAMPLE_CONTEXTS["sick"]
    wic = word_in_context(adapter, "Sick", texts, groups)
    assert wic.vectors.shape == (6, 3, 32) and wic.word == "sick"
    for layer in range(3):
        V = wic.vectors[:, layer]
        np.testing.assert_allclose(
            wic.distances("cosine")[layer], cdist(V, V, "cosine"), atol=1e-10
        )
        np.testing.assert_allclose(wic.distances("euclidean")[layer], cdist(V, V), atol=1e-10)
    # the vector is the word's hidden state (one piece here)
    enc = adapter.encode(texts[3])
    pos = enc.word_token_positions[enc.words.index("sick")]
    np.testing.assert_allclose(
        wic.vectors[3, 2], adapter.hidden_states(texts[3])[2][pos].mean(0), atol=1e-5
    )
    df = wic.to_frame()
    assert len(df) == 3 * 15
    s = wic.summary()
    cos = wic.distances("cosine")[1]
    g = np.array(groups)
    same = (g[:, None] == g[None, :]) & ~np.eye(6, dtype=bool)
    diff = g[:, None] != g[None, :]
    assert s.loc[1, "cosine_within"] == pytest.approx(cos[same].mean())
    assert s.loc[1, "cosine_between"] == pytest.approx(cos[diff].mean())


def test_word_in_context_errors(adapter):
    with pytest.raises(InputError, match=r"texts\[1\] does not contain the word 'bad'"):
        word_in_context(adapter, "bad", ["so bad", "so good"])
    with pytest.raises(InputError, match="2 words"):
        word_in_context(adapter, "not bad", ["not bad", "not bad at all"])
