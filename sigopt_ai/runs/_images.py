"""What a run's files are made of: an image or a file turned into bytes, a content type and a name.

Everything here runs on the caller's thread, at the logging call: a matplotlib figure or a numpy
array can change right after the call, so it is encoded before the call returns, and the writer
thread only stores bytes.

The image kinds follow sigopt-python's ``log_image``: a path to an image file (its type guessed from
the extension, among the types SigOpt displays), a PIL image (stored as PNG), a matplotlib figure
(SVG) and a numpy array of 2 dimensions, or 3 with 1, 3 or 4 channels (clipped to 0-255 and stored
as PNG through Pillow). An object of another kind, or one that needs an optional library that is
missing, is skipped with a :class:`RuntimeWarning`, as sigopt-python skips it. PIL, matplotlib and
numpy are never imported here unless the object is already one of theirs (recognised by the module
its class comes from).
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
import warnings
from dataclasses import dataclass
from typing import Any

from sigopt_ai._checks import (
    MAX_FILE_BYTES,
    MAX_FILE_NAME_LENGTH,
    check_content_type,
    check_file_name,
    check_file_size,
    describe_value,
    short_repr,
)
from sigopt_ai._exceptions import ValidationError, ValidationTypeError

INSTALL_HINT = 'pip install "sigopt-ai[images]"'
"""What installs the optional libraries that images need."""

DEFAULT_CONTENT_TYPE = "application/octet-stream"
"""The content type of a file whose type is neither given nor guessable."""

# The image types SigOpt displays, by extension: a fixed table rather than ``mimetypes`` alone,
# whose answers depend on the platform (``.ico`` and ``.bmp`` have two names each, ``.apng`` and
# ``.webp`` are missing on some systems).
IMAGE_TYPES = {
    ".apng": "image/apng",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
}

_SUPPORTED = "a path to an image file, a PIL.Image.Image, a matplotlib.figure.Figure or a numpy.ndarray"
_ARRAY_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
_PACKAGE = f"{__name__.split('.')[0]}."


@dataclass(frozen=True, slots=True)
class Payload:
    """A file ready to be stored: its bytes, content type and name."""

    data: bytes
    content_type: str
    name: str


# -- paths and raw bytes ---------------------------------------------------------------------------


def is_path(value: Any) -> bool:
    """Whether ``value`` names a file: a str or an ``os.PathLike``."""
    return isinstance(value, (str, os.PathLike))


def read_path(path: str | os.PathLike[str], field: str) -> bytes:
    """The bytes of the file at ``path``, at most :data:`MAX_FILE_BYTES`.

    Raises:
        ValidationError: ``path`` is not an existing, readable file, or it is too large.
    """
    try:
        name = os.fspath(path)
    except TypeError:
        raise ValidationTypeError(f"{field} must be a path, got {describe_value(path)}.") from None
    if not isinstance(name, str):
        raise ValidationTypeError(f"{field} must be a str path, got {describe_value(path)}.")
    if not os.path.isfile(name):
        what = "is not a file" if os.path.exists(name) else "does not exist"
        raise ValidationError(f"{field} must be the path of a file, but {short_repr(name)} {what}.")
    try:
        with open(name, "rb") as file:
            check_file_size(os.fstat(file.fileno()).st_size, field)  # before reading a file that is far too large
            data = file.read(MAX_FILE_BYTES + 1)  # a file whose size the system does not know (/proc)
    except OSError as exc:
        raise ValidationError(f"{field} {short_repr(name)} cannot be read: {exc}.") from None
    check_file_size(len(data), field)
    return data


def to_bytes(value: Any, field: str) -> bytes:
    """``bytes``, ``bytearray`` or ``memoryview`` contents as ``bytes``, at most :data:`MAX_FILE_BYTES`."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if not isinstance(value, (bytes, bytearray)):
        raise ValidationTypeError(f"{field} must be a path or bytes, got {describe_value(value)}.")
    check_file_size(len(value), field)
    return bytes(value)


def guess_content_type(path: str) -> str:
    """The content type of a file named ``path``, by its extension (``application/octet-stream`` if unknown)."""
    image_type = IMAGE_TYPES.get(os.path.splitext(path)[1].lower())
    if image_type is not None:
        return image_type
    guessed, encoding = mimetypes.guess_type(path, strict=False)
    return guessed if guessed is not None and encoding is None else DEFAULT_CONTENT_TYPE


def base_name(path: str | os.PathLike[str]) -> str:
    """The last component of ``path``, as a file name for the store (``"file"`` if it has none)."""
    return os.path.basename(os.path.normpath(os.fspath(path))) or "file"


def file_name(name: Any, default: str) -> str:
    """The name a file is stored under: ``name`` checked, else ``default`` made to fit the rule."""
    if name is not None:
        return check_file_name(name, "file name")
    text = "".join(c if c.isprintable() else "_" for c in default)[:MAX_FILE_NAME_LENGTH]
    return text or "file"


def file_payload(file: Any, name: Any = None, content_type: Any = None) -> Payload:
    """A path's contents or bytes as a file to store (see :meth:`RunContext.log_file`); the content
    type, unless given, is guessed from the name's extension, else the path's.

    Raises:
        ValidationError: The path is not a readable file, the contents are too large, or ``name``
            or ``content_type`` is invalid.
    """
    if is_path(file):
        data, default = read_path(file, "file"), base_name(file)
    else:
        data, default = to_bytes(file, "file"), "file"
    stored_name = file_name(name, default)
    if content_type is None:
        # The name's extension, else the path's: log_file("plot.png", name="loss") is a PNG.
        content_type = guess_content_type(stored_name)
        if content_type == DEFAULT_CONTENT_TYPE and default != "file":
            content_type = guess_content_type(default)
    return Payload(data, check_content_type(content_type, "content_type"), stored_name)


# -- images ----------------------------------------------------------------------------------------


class _Skip(Exception):
    """The image cannot be stored for a reason that sigopt-python warns about rather than raises."""


def image_payload(image: Any, name: Any = None) -> Payload | None:
    """``image`` as a file to store, or None (after a :class:`RuntimeWarning`) when it cannot be one.

    Args:
        image: A path to an image file, a PIL image, a matplotlib figure or a numpy array.
        name: The name to store it under (default: the file's name, else ``image.png``, ``figure.svg``
            or ``array.png``).

    Raises:
        ValidationError: ``name`` breaks the naming rule; the path does not exist or the file is
            too large; the array's shape or values cannot make an image; the image cannot be encoded.
    """
    if name is not None:
        check_file_name(name, "image name")
    try:
        if is_path(image):
            return _path_image(image, name)
        kind = _foreign_kind(image)
        if kind == "pil":
            return _pil_image(image, name)
        if kind == "matplotlib":
            return _figure_image(image, name)
        if kind == "numpy":
            return _array_image(image, name)
        raise _Skip(f"log_image skipped an image of type {_type_name(image)}: it takes {_SUPPORTED}.")
    except _Skip as skip:
        warnings.warn(str(skip), RuntimeWarning, stacklevel=_user_stacklevel())
        return None


def _user_stacklevel() -> int:
    """The ``stacklevel`` at which the caller of this function's caller sees the user's frame: the
    first outside this package (``RunContext.log_image`` and ``sigopt.log_image`` are one and two
    frames deep), so that a warning points at the user's line."""
    level, frame = 2, inspect.currentframe()
    frame = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    return level


def _path_image(path: str | os.PathLike[str], name: Any) -> Payload:
    data = read_path(path, "image")
    shown = base_name(path)
    content_type = IMAGE_TYPES.get(os.path.splitext(shown)[1].lower())
    if content_type is None:
        raise _Skip(
            f"log_image skipped {short_repr(os.fspath(path))}: its extension is not one of an image type "
            f"that runs display ({', '.join(sorted(set(IMAGE_TYPES.values())))})."
        )
    return Payload(data, content_type, file_name(name, shown))


def _foreign_kind(value: Any) -> str | None:
    """Which library's image ``value`` is, from its classes' modules, without importing any library."""
    for cls in type(value).__mro__:
        module, qualname = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
        if module == "PIL.Image" and qualname == "Image":
            return "pil"
        if module == "matplotlib.figure" and qualname == "Figure":
            return "matplotlib"
        if module == "numpy" and qualname == "ndarray":
            return "numpy"
    return None


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _pil_image(image: Any, name: Any) -> Payload:
    """A PIL image as PNG (modes PNG cannot hold, such as CMYK, converted to RGBA first)."""
    buffer = io.BytesIO()
    try:
        try:
            image.save(buffer, format="PNG")
        except (OSError, KeyError):  # a mode PNG cannot store
            buffer = io.BytesIO()
            image.convert("RGBA").save(buffer, format="PNG")
    except Exception as exc:  # a broken or empty image: whatever Pillow raises, it is not storable
        raise ValidationError(f"image {short_repr(image)} cannot be encoded as PNG: {exc}") from None
    source = getattr(image, "filename", None)
    default = "image.png"
    if isinstance(source, str) and source:
        default = f"{os.path.splitext(base_name(source))[0]}.png"
    return _encoded(buffer, "image/png", file_name(name, default))


def _encoded(buffer: io.BytesIO, content_type: str, name: str) -> Payload:
    """The image encoded in ``buffer``, if it is not too large to store."""
    data = buffer.getvalue()
    check_file_size(len(data), f"image (encoded as {content_type})")
    return Payload(data, content_type, name)


def _figure_image(figure: Any, name: Any) -> Payload:
    """A matplotlib figure as SVG, as sigopt-python stores it (without a date, so that the same
    figure gives the same bytes)."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    except Exception as exc:  # whatever the figure's artists raise while drawing
        raise ValidationError(f"image {short_repr(figure)} cannot be drawn as SVG: {exc}") from None
    return _encoded(buffer, "image/svg+xml", file_name(name, "figure.svg"))


def _array_image(array: Any, name: Any) -> Payload:
    """A numpy array as PNG through Pillow: values clipped to 0-255 (NaN as 0), 1 channel grey,
    3 RGB, 4 RGBA."""
    try:
        from PIL import Image
    except ImportError:
        raise _Skip(f"log_image skipped a numpy array: encoding it as PNG needs Pillow ({INSTALL_HINT}).") from None
    import numpy as np  # the array's own library: already imported

    pixels = _to_pixels(np, array)
    buffer = io.BytesIO()
    try:
        Image.fromarray(pixels).save(buffer, format="PNG")
    except Exception as exc:  # Pillow refusing a shape, say one past its size limits
        raise ValidationError(f"image array of shape {array.shape} cannot be encoded as PNG: {exc}") from None
    return _encoded(buffer, "image/png", file_name(name, "array.png"))


def _to_pixels(np: Any, array: Any) -> Any:
    """``array`` as contiguous uint8 pixels of shape (height, width) or (height, width, 3 or 4)."""
    shape = tuple(array.shape)
    channels = 1 if len(shape) == 2 else shape[2] if len(shape) == 3 else 0
    if channels not in _ARRAY_CHANNELS:
        raise ValidationError(
            f"image as a numpy array must have 2 dimensions, or 3 with 1, 3 or 4 channels, got shape {shape}."
        )
    if 0 in shape:
        raise ValidationError(f"image as a numpy array must not be empty, got shape {shape}.")
    if array.dtype.kind not in "biuf":
        raise ValidationTypeError(
            f"image as a numpy array must hold booleans, integers or floats, got dtype {array.dtype}."
        )
    if array.dtype.kind == "b":
        pixels = array.astype(np.uint8)
    else:
        if array.dtype.kind == "f":
            array = np.nan_to_num(array, nan=0.0, posinf=255.0, neginf=0.0)
        pixels = np.clip(array, 0, 255).astype(np.uint8)
    if channels == 1 and len(shape) == 3:
        pixels = pixels.reshape(shape[:2])
    return np.ascontiguousarray(pixels)
