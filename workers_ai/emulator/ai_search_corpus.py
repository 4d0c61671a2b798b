"""AI Search instances in the emulator: their files, cut into chunks (platform spec §3).

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §3. An instance is given as a mapping
(``EmulatorConfig.ai_search_instances``, ``EmulatorServer.add_ai_search_instance`` or
``POST /__emulator/ai-search``)::

    {"namespace": "default",                       # optional
     "model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",  # optional generation model
     "files": {"docs/intro.md": "text...",
               "docs/faq.md": {"text": "...", "metadata": {"team": "a"},
                               "timestamp": 1735689600000}}}

``attributes`` is accepted as another name of ``metadata`` (custom metadata: flat, string,
number or boolean values). ``timestamp`` is the last-modified time in milliseconds (Cloudflare's
``timestamp`` attribute), rounded down to whole seconds as Cloudflare stores it; without one a
file is dated :data:`DEFAULT_TIMESTAMP_MS` (2025-01-01, the spec's example date).

Each file gets an id (:func:`file_id`, a hash of namespace, instance and key, so ids differ
between instances) and is cut into chunks: one per paragraph (text between blank lines), a
paragraph longer than :data:`MAX_CHUNK_TOKENS` tokens cut at sentence ends (a longer sentence
by tokens). Chunk ids are ``<file id>-<n>``, ``n`` counting from 0 in file order.

Where the instance lives (the emulator's choices): instances are keyed by namespace and name;
a legacy AutoRAG id is the name of an instance in namespace ``default``. Instances from the
configuration stay for the server's life; those added at run time are forgotten by
``reset()`` (an added instance with a configured one's name hides it until then).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers_ai.emulator.standins import content_terms, count_tokens, split_tokens

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_TIMESTAMP_MS",
    "MAX_CHUNK_TOKENS",
    "RESERVED_ATTRIBUTES",
    "AiSearchStore",
    "Chunk",
    "CorpusFile",
    "Instance",
    "file_id",
    "parse_instance",
    "parse_instances",
]

#: Every account has this namespace (§3.1); the bare ``instances/{name}`` path serves it.
DEFAULT_NAMESPACE = "default"
#: The generation model of an instance that names none (§3.2's first enum value).
DEFAULT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
#: Last-modified time of a file given without one: 2025-01-01T00:00:00Z, in milliseconds.
DEFAULT_TIMESTAMP_MS = 1_735_689_600_000
#: Longest chunk, in the stand-in tokenizer's tokens.
MAX_CHUNK_TOKENS = 256
#: Built-in attributes a file's custom metadata may not redefine.
RESERVED_ATTRIBUTES = frozenset({"folder", "filename", "timestamp", "modified_date"})

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_INSTANCE_KEYS = frozenset({"namespace", "files", "model"})
_FILE_KEYS = frozenset({"text", "metadata", "attributes", "timestamp"})

#: A custom metadata value.
Scalar = str | int | float | bool


@dataclass(frozen=True)
class CorpusFile:
    """One file of an instance.

    Attributes:
        key: Its path (``llama/logistics/llama-logistics.md``): the chunks' ``item.key`` and
            the legacy ``filename``.
        id: Its file id (``file_id`` of legacy results).
        text: Its text.
        timestamp: Last modified, milliseconds since the epoch (whole seconds).
        metadata: Its custom metadata.
    """

    key: str
    id: str
    text: str
    timestamp: int
    metadata: Mapping[str, Scalar]

    @property
    def folder(self) -> str:
        """The key up to its last ``/`` (``llama/logistics/``; ``""`` at the top level)."""
        return self.key[: self.key.rfind("/") + 1]

    def attributes(self) -> dict[str, Any]:
        """What filters see: ``folder``, ``filename`` (the key), ``timestamp`` and the custom
        metadata."""
        return {
            "folder": self.folder,
            "filename": self.key,
            "timestamp": self.timestamp,
            **self.metadata,
        }


@dataclass(frozen=True)
class Chunk:
    """A piece of a file: what retrieval ranks.

    Attributes:
        id: ``<file id>-<index>``.
        file: The file it comes from.
        index: Its position in the file (0 first).
        text: Its text.
        terms: Its content words (for keyword retrieval).
    """

    id: str
    file: CorpusFile
    index: int
    text: str
    terms: frozenset[str]


@dataclass
class Instance:
    """An AI Search instance (also served as a legacy AutoRAG of the same name).

    Attributes:
        name: Its name (instance id; legacy rag id).
        namespace: Its namespace.
        model: Its generation model.
        files: Its files, in the order given.
        chunks: Every file's chunks, file by file.
        doc_freq: In how many chunks each content word occurs (keyword scores' idf).
    """

    name: str
    namespace: str
    model: str
    files: tuple[CorpusFile, ...]
    chunks: tuple[Chunk, ...]
    doc_freq: Counter[str]
    _vectors: dict[str, tuple[float, ...]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def neighbours(self, chunk: Chunk, reach: int) -> list[Chunk]:
        """``chunk`` with up to ``reach`` chunks of its file on each side, in file order."""
        same = [c for c in self.chunks if c.file is chunk.file]
        return same[max(0, chunk.index - reach) : chunk.index + reach + 1]

    def vectors(self, embed: Any) -> dict[str, tuple[float, ...]]:
        """Each chunk's embedding by ``embed(text)``, worked out on first use and kept."""
        with self._lock:
            if len(self._vectors) != len(self.chunks):
                for chunk in self.chunks:
                    if chunk.id not in self._vectors:
                        self._vectors[chunk.id] = tuple(embed(chunk.text))
            return self._vectors


def file_id(namespace: str, instance: str, key: str) -> str:
    """A file's id: 16 hex digits of a hash of where it is (stable across runs)."""
    digest = hashlib.sha256(f"{namespace}\x00{instance}\x00{key}".encode())
    return digest.hexdigest()[:16]


# -- chunking --------------------------------------------------------------------------------
def _pieces(paragraph: str) -> list[str]:
    """``paragraph`` in pieces of at most :data:`MAX_CHUNK_TOKENS` tokens (sentence ends
    first, then tokens)."""
    if count_tokens(paragraph) <= MAX_CHUNK_TOKENS:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        for part in _token_groups(sentence):
            joined = f"{current} {part}".strip()
            if current and count_tokens(joined) > MAX_CHUNK_TOKENS:
                pieces.append(current)
                joined = part
            current = joined
    if current:
        pieces.append(current)
    return pieces


def _token_groups(sentence: str) -> list[str]:
    tokens = split_tokens(sentence)
    groups = range(0, len(tokens), MAX_CHUNK_TOKENS)
    return ["".join(tokens[i : i + MAX_CHUNK_TOKENS]).strip() for i in groups]


def chunk_texts(text: str) -> list[str]:
    """The chunks of a file's text: paragraphs, long ones cut (see the module docstring)."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (p.strip() for p in _PARAGRAPH_BREAK.split(normal))
    return [piece for p in paragraphs if p for piece in _pieces(p)]


# -- configuration ---------------------------------------------------------------------------
def _segment(value: Any, what: str) -> str:
    """A name usable as one path segment: non-empty, no ``/``, no spaces or control chars."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if "/" in value or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"{what} {value!r} must not contain '/', spaces or control characters")
    return value


def _metadata(value: Any, where: str) -> dict[str, Scalar]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: metadata must be an object")
    for key, item in value.items():
        if not isinstance(key, str) or not key or key.startswith("$") or '"' in key or "." in key:
            raise ValueError(
                f"{where}: metadata key {key!r} must be a non-empty string without '.', "
                "'\"' or a leading '$'"
            )
        if key in RESERVED_ATTRIBUTES:
            raise ValueError(f"{where}: metadata key {key!r} is a built-in attribute")
        if not isinstance(item, (str, int, float, bool)) or (
            isinstance(item, float) and not math.isfinite(item)
        ):
            raise ValueError(f"{where}: metadata {key!r} must be a string, a number or a boolean")
    return dict(value)


def _timestamp(value: Any, where: str) -> int:
    if value is None:
        return DEFAULT_TIMESTAMP_MS
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: timestamp must be milliseconds since the epoch, 0 or more")
    return value - value % 1000  # Cloudflare compares timestamps in whole seconds


def _file(namespace: str, instance: str, key: Any, spec: Any, where: str) -> CorpusFile:
    if not isinstance(key, str) or not key.strip() or key.startswith("/"):
        raise ValueError(f"{where}: file key {key!r} must be a path such as 'docs/intro.md'")
    where = f"{where}[{key!r}]"
    if isinstance(spec, str):
        spec = {"text": spec}
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: give the text, or {{'text': ..., 'metadata': {{...}}}}")
    unknown = sorted(set(spec) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown}; allowed: {sorted(_FILE_KEYS)}")
    if "metadata" in spec and "attributes" in spec:
        raise ValueError(f"{where}: give 'metadata' or 'attributes' (the same), not both")
    text = spec.get("text")
    if not isinstance(text, str):
        raise ValueError(f"{where}: 'text' must be a string")
    metadata = _metadata(spec.get("metadata", spec.get("attributes")), where)
    stamp = _timestamp(spec.get("timestamp"), where)
    return CorpusFile(key, file_id(namespace, instance, key), text, stamp, metadata)


def parse_instance(name: Any, spec: Mapping[str, Any], where: str = "") -> Instance:
    """Build an instance from its configuration (see the module docstring).

    Raises:
        ValueError: naming the instance, the file and the field to change.
    """
    where = where or f"AI Search instance {name!r}"
    name = _segment(name, f"{where}: instance name")
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: give an object with 'files' (and 'namespace', 'model')")
    unknown = sorted(set(spec) - _INSTANCE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown}; allowed: {sorted(_INSTANCE_KEYS)}")
    namespace = _segment(spec.get("namespace", DEFAULT_NAMESPACE), f"{where}: namespace")
    model = spec.get("model") or DEFAULT_MODEL
    if not isinstance(model, str):
        raise ValueError(f"{where}: model must be a model name")
    raw_files = spec.get("files", {})
    if not isinstance(raw_files, Mapping):
        raise ValueError(f"{where}: files must map each file's path to its text")
    files = tuple(_file(namespace, name, k, v, f"{where}: files") for k, v in raw_files.items())
    chunks = tuple(
        Chunk(f"{f.id}-{n}", f, n, text, frozenset(content_terms(text)))
        for f in files
        for n, text in enumerate(chunk_texts(f.text))
    )
    doc_freq: Counter[str] = Counter(term for chunk in chunks for term in chunk.terms)
    return Instance(name, namespace, model, files, chunks, doc_freq)


def parse_instances(config: Mapping[str, Any]) -> list[Instance]:
    """The instances of ``EmulatorConfig.ai_search_instances`` (name -> configuration).

    Raises:
        ValueError: naming the setting, the instance and the field to change.
    """
    if not isinstance(config, Mapping):
        raise ValueError("ai_search_instances: map each instance name to {'files': {...}}")
    instances = [
        parse_instance(name, spec, f"ai_search_instances[{name!r}]")
        for name, spec in config.items()
    ]
    seen: set[tuple[str, str]] = set()
    for instance in instances:
        if (instance.namespace, instance.name) in seen:  # pragma: no cover - mapping keys
            raise ValueError(f"ai_search_instances: {instance.name!r} is given twice")
        seen.add((instance.namespace, instance.name))
    return instances


# -- the store -------------------------------------------------------------------------------
class AiSearchStore:
    """The instances being served: the configured ones and those added at run time."""

    def __init__(self, configured: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        found = parse_instances(configured or {})
        self._configured = {(i.namespace, i.name): i for i in found}
        self._added: dict[tuple[str, str], Instance] = {}

    def add(self, instance: Instance) -> None:
        """Serve ``instance`` until :meth:`reset` (replacing one of the same name)."""
        with self._lock:
            self._added[instance.namespace, instance.name] = instance

    def get(self, namespace: str, name: str) -> Instance | None:
        with self._lock:
            key = (namespace, name)
            return self._added.get(key) or self._configured.get(key)

    def has_namespace(self, namespace: str) -> bool:
        """``default`` always exists; another once an instance is in it."""
        with self._lock:
            known = {ns for ns, _ in (*self._configured, *self._added)}
        return namespace == DEFAULT_NAMESPACE or namespace in known

    def names(self) -> list[str]:
        """``namespace/name`` of every instance, sorted."""
        with self._lock:
            keys = set(self._configured) | set(self._added)
        return [f"{ns}/{name}" for ns, name in sorted(keys)]

    def reset(self) -> None:
        """Forget the instances added at run time (the configured ones stay)."""
        with self._lock:
            self._added.clear()
