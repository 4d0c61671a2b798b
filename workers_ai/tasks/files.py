"""Files in and out of the task tools, for both frameworks' adapters.

The LangChain tools and loaders and the LlamaIndex tool spec and readers take paths from an
agent or a user and write generated media to files: this module checks a path before anything
is read or sent (exists, a file, not empty, under the size limit, inside an allowed folder),
reads a file's bytes with its media type, writes media under a fresh name (an existing file is
never overwritten), and renders task results as the short text an agent reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workers_ai.errors import InvalidRequestError
from workers_ai.tasks.media import sniff_media_type

if TYPE_CHECKING:
    from workers_ai.tasks.media import Label, Media
    from workers_ai.tasks.vision import Detection

__all__ = [
    "EXTENSIONS",
    "check_file_name",
    "detections_to_text",
    "joined_text",
    "labels_to_text",
    "read_input_file",
    "read_media_file",
    "slug",
    "write_output_file",
]

#: Media type -> the extension of a file written with it.
EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/webm": ".webm",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")
_MAX_NAME_TRIES = 1000

# --- Files in and out ------------------------------------------------------------


def read_input_file(
    path: str | Path,
    *,
    what: str,
    base_dir: Path | None = None,
    max_bytes: int | None = None,
    setting: str = "it with MediaLimits",
) -> Path:
    """``path`` resolved, if it names a non-empty file (inside ``base_dir`` if set) of at most
    ``max_bytes`` (checked with ``stat``, before reading it).

    A relative path is taken from ``base_dir`` when set, else from the working directory.
    ``setting`` names the option that raises ``max_bytes``, for the message.

    Raises:
        InvalidRequestError: Naming the path and what is wrong with it.
    """
    if not isinstance(path, (str, Path)) or not str(path).strip():
        raise InvalidRequestError(f"{what}: give a file path, not {path!r}")
    given = Path(str(path).strip()).expanduser()
    full = (base_dir / given if base_dir is not None else given).resolve()
    if base_dir is not None and not full.is_relative_to(base_dir.resolve()):
        raise InvalidRequestError(f"{what} {str(path)!r} is outside the allowed folder {base_dir}")
    if not full.exists():
        raise InvalidRequestError(f"{what} {str(path)!r} does not exist")
    if not full.is_file():
        raise InvalidRequestError(f"{what} {str(path)!r} is not a file")
    size = full.stat().st_size
    if size == 0:
        raise InvalidRequestError(f"{what} {str(path)!r} is empty")
    if max_bytes is not None and size > max_bytes:
        raise InvalidRequestError(
            f"{what} {str(path)!r} is {size:,} bytes, over the limit of {max_bytes:,} "
            f"(raise {setting})"
        )
    return full


def read_media_file(path: Path) -> tuple[bytes, str | None]:
    """A checked file's bytes, and its media type guessed from its name only when its bytes
    do not tell (a type the bytes show always wins: nothing is relabelled)."""
    import mimetypes

    data = path.read_bytes()
    return data, None if sniff_media_type(data) else mimetypes.guess_type(path.name)[0]


def slug(text: str, fallback: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text.lower())[:6]
    return "-".join(words)[:48] or fallback


def check_file_name(file_name: str | None) -> str | None:
    """A bare file name the agent asked for (its extension is replaced), or ``None``."""
    if file_name is None or not file_name.strip():
        return None
    name = file_name.strip()
    if not _SAFE_NAME.match(name) or ".." in name:
        raise InvalidRequestError(
            f"file_name {file_name!r}: give a plain file name (letters, digits, '-', '_', '.'), "
            "no folders"
        )
    return Path(name).stem or None


def write_output_file(directory: Path, stem: str, media: Media) -> Path:
    """Write ``media`` to a new file ``directory/stem.<ext>`` (``stem-2``, ``stem-3``... when
    taken): an existing file is never overwritten. Returns its path."""
    extension = EXTENSIONS.get(media.media_type, ".bin")
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(1, _MAX_NAME_TRIES + 1):
        name = f"{stem}{extension}" if index == 1 else f"{stem}-{index}{extension}"
        path = directory / name
        try:
            with path.open("xb") as handle:  # exclusive: fails if the file exists
                handle.write(media.data)
        except FileExistsError:
            continue
        return path.resolve()
    raise InvalidRequestError(f"{directory}: no free file name for {stem}{extension}")


# --- Results -> text ---------------------------------------------------------------------------


def labels_to_text(labels: Sequence[Label]) -> str:
    if not labels:
        return "No labels."
    return "\n".join(f"{label.label} ({label.score:.2f})" for label in labels)


def detections_to_text(detections: Sequence[Detection]) -> str:
    if not detections:
        return "No objects detected."
    lines = []
    for d in detections:
        box = d.box
        lines.append(
            f"{d.label} ({d.score:.2f}) at x={box.xmin:.0f}-{box.xmax:.0f}, "
            f"y={box.ymin:.0f}-{box.ymax:.0f}"
        )
    return "\n".join(lines)


def joined_text(result: str | Sequence[str]) -> str:
    """A task's text result for an agent: as it is, or one line per item of a list (a
    translation of several texts)."""
    return result if isinstance(result, str) else "\n".join(result)
