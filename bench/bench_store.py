"""Benchmark: the evidence store at scale.

    python bench/bench_store.py synthetic [--passages 1000000] [--queries 200] [--dir DIR]
    python bench/bench_store.py real [--passages 20000]
    python bench/bench_store.py reopen DIR [--queries 200]      # the open and query figures again
    python bench/bench_store.py lexical [--passages 1000000]   # the lexical index alone, no Chroma

synthetic: generated passages (about 90 words each from a Zipf-distributed vocabulary of 60,000
made-up words, plus numbers) with RANDOM UNIT VECTORS as embeddings (so the dense latency is
Chroma's HNSW on random data, not on real embeddings). Prints the time to load Chroma, the lexical
index build time and size on disk, the store open time in a fresh process as the Verifier opens
it (Chroma client, collection, lexical index opened and checked against the collection's revision,
emptiness check, retriever built), how long the background load of Chroma's vector index takes and
the first dense query after it (and, in another fresh process, a first query made at once), hybrid
retrieval latency per claim p50 / p95 with the claim's vector given (the claim's
embedding is not timed), and peak memory (RSS) of the building and the querying process.

real: real English text (docstrings of the installed Python modules, one document per module) cut
into passages by the ingest's own chunking; prints ingest passages/s with the packaged embedder
(all-MiniLM-L6-v2, loaded before timing) against the same embedder's raw throughput on the same
texts in the same batch size, and their ratio.
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verify.config import VerifyConfig  # noqa: E402
from verify.lexical import LexicalIndex  # noqa: E402
from verify.retrieval import HybridRetriever  # noqa: E402
from verify.store import EvidenceStore  # noqa: E402

DIM = 384
COLLECTION = "bench"


class NamedDim:
    """Stands for the packaged embedder in the synthetic store (vectors are given, never computed)."""

    name = "all-MiniLM-L6-v2"
    dimension = DIM

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the synthetic bench gives every vector")


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def vocabulary(rng: np.random.Generator, size: int = 60_000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, int(rng.integers(3, 11)))) for _ in range(size)]


def synthetic_texts(rng: np.random.Generator, vocab: list[str], n: int, words: int = 90) -> list[str]:
    ranks = np.minimum(rng.zipf(1.2, size=(n, words)), len(vocab)) - 1
    out = []
    for row in ranks:
        tokens = [vocab[r] for r in row]
        tokens[int(rng.integers(words))] = str(int(rng.integers(1900, 2030)))
        out.append(" ".join(tokens) + ".")
    return out


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def lexical_only(args: argparse.Namespace) -> None:
    """The lexical index alone at ``--passages`` (no Chroma: for sizes whose Chroma load takes hours)."""
    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-lexical-"))
    shutil.rmtree(base / "lexical", ignore_errors=True)
    rng = np.random.default_rng(15)
    vocab = vocabulary(rng)
    lexical = LexicalIndex(base / "lexical")
    generate_s = build_s = 0.0
    for start in range(0, args.passages, 50_000):
        t0 = time.perf_counter()
        texts = synthetic_texts(rng, vocab, min(50_000, args.passages - start))
        generate_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        lexical.add((f"p{start + i:08d}", f"doc{(start + i) // 20:06d}", t) for i, t in enumerate(texts))
        lexical.commit("bench")
        build_s += time.perf_counter() - t0
        print(f"  {start + len(texts):,} passages indexed ({build_s:.0f} s)", file=sys.stderr, flush=True)
    build_peak = peak_mb()
    (base / "queries.json").write_text(json.dumps(synthetic_texts(rng, vocab, args.queries, words=14)))
    out = subprocess.run(
        [sys.executable, __file__, "query-lexical", str(base)], check=True, capture_output=True, text=True
    )
    q = json.loads(out.stdout)
    print(f"lexical index alone: {args.passages:,} synthetic passages of about 90 words")
    print(f"  build: {build_s:,.1f} s (text generation apart, {generate_s:,.0f} s), {dir_mb(base / 'lexical'):,.0f} MB")
    print(f"  open in a fresh process: {q['open_s']:.3f} s (after importing tantivy)")
    print(f"  search per claim (14 words, top 20): p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms")
    print(f"  peak memory: building {build_peak:,.0f} MB, opening and searching {q['peak_mb']:,.0f} MB (RSS)")


def query_lexical(args: argparse.Namespace) -> None:
    import tantivy  # noqa: F401

    base = Path(args.dir)
    queries = json.loads((base / "queries.json").read_text())
    t0 = time.perf_counter()
    lexical = LexicalIndex(base / "lexical")
    lexical.count()
    open_s = time.perf_counter() - t0
    times = []
    for text in queries:
        t0 = time.perf_counter()
        lexical.search(text, 20)
        times.append(time.perf_counter() - t0)
    pct = lambda q: float(np.percentile(times, q) * 1000)  # noqa: E731
    print(json.dumps({"open_s": open_s, "p50_ms": pct(50), "p95_ms": pct(95), "peak_mb": peak_mb()}))


def synthetic(args: argparse.Namespace) -> None:
    from verify.models import EvidencePassage
    from verify.store import passage_metadata

    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-store-"))
    path = base / "chroma"
    if path.exists():
        shutil.rmtree(path)
    rng = np.random.default_rng(15)
    vocab = vocabulary(rng)
    store = EvidenceStore(NamedDim(), path=path, collection=COLLECTION, create=True)
    collection = store._collection  # bulk load: the bench times the lexical index on its own below
    lexical = LexicalIndex(base / "lexical-build")
    step, started, lexical_seconds = 5_000, time.perf_counter(), 0.0
    for start in range(0, args.passages, step):
        n = min(step, args.passages - start)
        texts = synthetic_texts(rng, vocab, n)
        ids = [f"p{start + i:08d}" for i in range(n)]
        docs = [f"doc{(start + i) // 20:06d}" for i in range(n)]
        metas = [
            passage_metadata(EvidencePassage(id=pid, doc_id=doc, text=t, chunk_index=(start + i) % 20))
            for i, (pid, doc, t) in enumerate(zip(ids, docs, texts, strict=True))
        ]
        collection.add(ids=ids, documents=texts, embeddings=unit_vectors(rng, n), metadatas=metas)
        t0 = time.perf_counter()
        lexical.add(zip(ids, docs, texts, strict=True))
        if (start // step) % 20 == 19:
            lexical.commit(None)
        lexical_seconds += time.perf_counter() - t0
        print(f"  {start + n:,} passages loaded ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    revision = store._new_revision()
    lexical.commit(revision)
    lexical_seconds += time.perf_counter() - t0
    load_seconds = time.perf_counter() - started - lexical_seconds
    shutil.rmtree(store.lexical_path, ignore_errors=True)
    store.lexical_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(base / "lexical-build"), str(store.lexical_path))
    build_peak = peak_mb()
    store.release()
    queries = []
    for text in synthetic_texts(rng, vocab, args.queries, words=14):
        queries.append(text)
    (base / "queries.json").write_text(json.dumps(queries))
    print(f"synthetic store: {args.passages:,} passages (generated text; dense vectors are random unit vectors)")
    lexical_mb = dir_mb(store.lexical_path)
    print(f"  Chroma load (ids, text, metadata, vectors): {load_seconds:,.0f} s, {dir_mb(path) - lexical_mb:,.0f} MB")
    print(f"  lexical index build: {lexical_seconds:,.1f} s, {lexical_mb:,.0f} MB on disk")
    print(f"  peak memory building: {build_peak:,.0f} MB (RSS)")
    report_queries(base, args.queries)
    print(f"  (store at {base})")


def report_queries(base: Path, queries: int) -> None:
    """Open the store at ``base`` in fresh processes, as ``Verifier.retriever()`` does, and query it:
    once waiting for the background load of Chroma's vector index, once querying at once."""

    def fresh(n: int, *extra: str) -> dict[str, float]:
        cmd = [sys.executable, __file__, "query", str(base), "--queries", str(n), *extra]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    q, at_once = fresh(queries), fresh(1, "--first-at-once")
    print(
        f"  store open in a fresh process (collection, lexical index checked against its revision, "
        f"retriever built): {q['open_s']:.2f} s (target < 2 s), after importing chromadb and tantivy "
        f"({q['import_s']:.2f} s)"
    )
    print(
        f"  Chroma's vector index, loaded in the background from the open: {q['warm_s']:.2f} s; first dense "
        f"query after it {q['first_s'] * 1000:.0f} ms; a first query made at once waits {at_once['first_s']:.2f} s"
    )
    print(
        f"  hybrid retrieval per claim, claim vector given: p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms "
        f"(target p95 < 100 ms); lexical alone p50 {q['lexical_p50_ms']:.1f} ms, dense alone p50 "
        f"{q['dense_p50_ms']:.1f} ms (each asked again after the hybrid call); {queries} claims of 14 words"
    )
    inside = ", ".join(f"{name} {p50:.1f} / {p95:.1f}" for name, (p50, p95) in q["parts_ms"].items())
    print(f"  inside the hybrid call, p50 / p95 ms: {inside}")
    print(f"  peak memory opening and querying: {q['peak_mb']:,.0f} MB (RSS)")


def reopen(args: argparse.Namespace) -> None:
    base = Path(args.dir)
    passages = EvidenceStore(NamedDim(), path=base / "chroma", collection=COLLECTION).lexical.count()
    print(f"synthetic store at {base}: {passages:,} passages (as the lexical index counts them)")
    report_queries(base, args.queries)


def query(args: argparse.Namespace) -> None:
    base = Path(args.dir)
    queries = json.loads((base / "queries.json").read_text())
    rng = np.random.default_rng(16)
    vectors = unit_vectors(rng, len(queries)).tolist()
    t0 = time.perf_counter()
    import chromadb  # noqa: F401 -- timed apart: the same for any store size
    import tantivy  # noqa: F401

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = EvidenceStore(NamedDim(), path=base / "chroma", collection=COLLECTION)
    store.require_passages()  # what Verifier.retriever() does before building the retriever
    retriever = HybridRetriever(store, top_k=4, dense_candidates=20, lexical_candidates=20, near_duplicate_jaccard=0.8)
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if args.first_at_once:  # the first claim arrives before the background load has finished
        store.dense_search("", 20, vector=vectors[0])
        first_s = time.perf_counter() - t0
        warm_s = float("nan")
    else:
        store.warm_up().join()  # the load the retriever started, while claims would be extracted
        warm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.dense_search("", 20, vector=vectors[0])
        first_s = time.perf_counter() - t0
    # the store calls a hybrid retrieval makes, each timed inside it (dense and lexical overlap)
    lexical_alone, dense_alone = store.lexical_search, store.dense_search
    parts: dict[str, list[float]] = {"refresh": [], "dense": [], "lexical": [], "get": []}
    current: dict[str, float] = {}

    def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return call(*a, **k)
            finally:
                current[name] = current.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    store.refresh_lexical = timed("refresh", store.refresh_lexical)  # type: ignore[method-assign]
    store.dense_search = timed("dense", store.dense_search)  # type: ignore[method-assign]
    store.lexical_search = timed("lexical", store.lexical_search)  # type: ignore[method-assign]
    store.get = timed("get", store.get)  # type: ignore[method-assign]
    hybrid, lexical, dense = [], [], []
    for text, vector in zip(queries, vectors, strict=True):
        current.clear()
        t0 = time.perf_counter()
        retriever.retrieve(text, vector=vector)
        hybrid.append(time.perf_counter() - t0)
        for name, values in parts.items():
            values.append(current.get(name, 0.0))
        t0 = time.perf_counter()  # the same query again, alone: its pages are now in memory
        lexical_alone(text, 20)
        lexical.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dense_alone(text, 20, vector=vector)
        dense.append(time.perf_counter() - t0)
    ms = lambda xs, q: float(np.percentile(xs, q) * 1000)  # noqa: E731
    print(
        json.dumps(
            {
                "open_s": open_s,
                "import_s": import_s,
                "first_s": first_s,
                "warm_s": warm_s,
                "p50_ms": ms(hybrid, 50),
                "p95_ms": ms(hybrid, 95),
                "lexical_p50_ms": ms(lexical, 50),
                "dense_p50_ms": ms(dense, 50),
                "parts_ms": {name: [ms(v, 50), ms(v, 95)] for name, v in parts.items()},
                "peak_mb": peak_mb(),
                "lexical_mb": dir_mb(store.lexical_path),
            }
        )
    )


def module_docstrings(limit_chars: int) -> list[tuple[str, str]]:
    """(name, text) per Python module of the interpreter's library and site-packages: its docstrings."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    out, total = [], 0
    for root in roots:
        for file in sorted(root.rglob("*.py")):
            try:
                tree = ast.parse(file.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
                continue
            nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
            docs = [d for n in nodes if (d := ast.get_docstring(n)) and len(d) > 200]
            text = "\n\n".join(d for d in docs if d.isprintable() or "\x00" not in d)
            if text:
                out.append((f"m{len(out):05d}-" + str(file.relative_to(root)).replace("/", "_"), text))
                total += len(text)
                if total > limit_chars:
                    return out
    return out


def real(args: argparse.Namespace) -> None:
    from verify.embeddings import MiniLMEmbedder
    from verify.ingest import BATCH_PASSAGES
    from verify.verifier import Verifier

    base = Path(tempfile.mkdtemp(prefix="bench-store-real-"))
    folder = base / "docs"
    folder.mkdir()
    config = VerifyConfig(store_path=base / "chroma", calibration="off", cache_dir=base / "cache")
    embedder = MiniLMEmbedder()
    verifier = Verifier(config, embedder=embedder)
    texts: list[str] = []
    for name, text in module_docstrings(limit_chars=args.passages * 700):
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        passages = verifier.passages_of(path)
        if len(texts) + len(passages) > args.passages:
            path.unlink()
            break
        texts.extend(p.text for p in passages)
    embedder.embed(texts[:64])  # warm up
    t0 = time.perf_counter()
    for start in range(0, len(texts), BATCH_PASSAGES):
        embedder.embed(texts[start : start + BATCH_PASSAGES])
    raw_s = time.perf_counter() - t0
    print(f"  (raw embedder: {len(texts) / raw_s:,.1f} passages/s; ingesting)", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    stats = verifier.ingest([folder])
    ingest_s = time.perf_counter() - t0
    raw, ingest = len(texts) / raw_s, stats.passages / ingest_s
    print(
        f"real text: {stats.documents:,} documents (docstrings of installed Python modules), "
        f"{stats.passages:,} passages, mean {sum(map(len, texts)) / len(texts):.0f} characters"
    )
    print(f"  raw embedder ({embedder.name}, batches of {BATCH_PASSAGES}): {raw:,.1f} passages/s ({raw_s:,.0f} s)")
    print(f"  verify ingest (read, chunk, scan, embed, Chroma + lexical): {ingest:,.1f} passages/s ({ingest_s:,.0f} s)")
    print(f"  ratio ingest / raw: {ingest / raw:.2f} (target >= 0.9); peak memory {peak_mb():,.0f} MB (RSS)")
    shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    syn = sub.add_parser("synthetic")
    syn.add_argument("--passages", type=int, default=1_000_000)
    syn.add_argument("--queries", type=int, default=200)
    syn.add_argument("--dir", help="where to build the store (default: a new temporary directory, kept)")
    q = sub.add_parser("query")  # the fresh process of the synthetic bench
    q.add_argument("dir")
    q.add_argument("--queries", type=int, default=200)
    q.add_argument("--first-at-once", action="store_true", help="query without waiting for the warm-up")
    ro = sub.add_parser("reopen")  # the query figures again, on a store built before
    ro.add_argument("dir")
    ro.add_argument("--queries", type=int, default=200)
    lex = sub.add_parser("lexical")
    lex.add_argument("--passages", type=int, default=1_000_000)
    lex.add_argument("--queries", type=int, default=200)
    lex.add_argument("--dir", help="where to build the index (default: a new temporary directory, kept)")
    ql = sub.add_parser("query-lexical")  # the fresh process of the lexical bench
    ql.add_argument("dir")
    rl = sub.add_parser("real")
    rl.add_argument("--passages", type=int, default=20_000)
    args = parser.parse_args()
    handlers = {
        "synthetic": synthetic,
        "query": query,
        "reopen": reopen,
        "lexical": lexical_only,
        "query-lexical": query_lexical,
        "real": real,
    }
    handlers[args.what](args)


if __name__ == "__main__":
    main()
