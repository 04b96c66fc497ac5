"""log_image with real images: paths, Pillow images, matplotlib figures and numpy arrays, stored and read
back; what is skipped with a warning, what raises, and hostile input that must never jam the writer."""

from __future__ import annotations

import io
import json
import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import matplotlib.figure
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import sigopt_ai as sigopt
from sigopt_ai._checks import MAX_FILE_BYTES
from tests.conftest import run_python


def stored(run_id: str) -> dict[str, tuple[sigopt.FileRecord, bytes]]:
    """The run's files by name, with their bytes."""
    return {f.name: (f, sigopt.read_file(f.id)) for f in sigopt.list_files(run_id)}


def decode_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


# -- paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "content_type"),
    [
        ("plot.png", "image/png"),
        ("photo.JPG", "image/jpeg"),
        ("photo.jpeg", "image/jpeg"),
        ("anim.gif", "image/gif"),
        ("anim.apng", "image/apng"),
        ("scan.bmp", "image/bmp"),
        ("chart.svg", "image/svg+xml"),
        ("pic.webp", "image/webp"),
        ("favicon.ico", "image/x-icon"),
    ],
)
def test_an_image_file_is_stored_byte_exact_with_the_type_its_extension_names(
    tmp_path: Path, file: str, content_type: str
) -> None:
    path = tmp_path / file
    path.write_bytes(bytes(range(256)) * 3)  # the contents are stored as they are, never decoded
    with sigopt.run() as run:
        file_id = run.log_image(str(path))
    record, data = stored(run.id)[file]
    assert record.id == file_id and record.content_type == content_type and record.run == run.id
    assert data == path.read_bytes() and record.size == len(data)


def test_a_path_object_and_a_name_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "curve.png"
    Image.new("RGB", (3, 2), "blue").save(path)
    with sigopt.run() as run:
        run.log_image(path, name="training curve")
    record, data = stored(run.id)["training curve"]
    assert record.content_type == "image/png" and data == path.read_bytes()


def test_a_file_that_is_not_an_image_type_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with sigopt.run() as run:
        with pytest.warns(RuntimeWarning, match=r"skipped .*notes\.txt.*image/png"):
            assert run.log_image(str(path)) is None
        run.log_metric("after", 1.0)  # the run goes on
    assert sigopt.list_files(run.id) == []
    assert sigopt.get_run(run.id).metrics == {"after": 1.0}


def test_a_missing_path_or_a_folder_raises_naming_the_field(tmp_path: Path) -> None:
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError, match=r"image must be the path of a file.*does not exist"):
            run.log_image(str(tmp_path / "nowhere.png"))
        with pytest.raises(sigopt.ValidationError, match=r"image must be the path of a file.*is not a file"):
            run.log_image(tmp_path)
    assert sigopt.list_files(run.id) == []


def test_an_image_file_over_the_limit_raises_naming_the_field_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError, match=rf"image must be at most {MAX_FILE_BYTES} bytes \(4 MiB\)"):
            run.log_image(str(path))
        path.write_bytes(b"\0" * MAX_FILE_BYTES)  # exactly the limit is fine
        run.log_image(str(path))
    assert stored(run.id)["huge.png"][0].size == MAX_FILE_BYTES


# -- Pillow and matplotlib -------------------------------------------------------------------------


def test_a_pil_image_is_stored_as_png_with_its_pixels() -> None:
    image = Image.new("RGB", (4, 3), (10, 20, 30))
    image.putpixel((1, 2), (250, 0, 5))
    with sigopt.run() as run:
        sigopt.log_image(image)  # the module-level call acts on the run entered
    record, data = stored(run.id)["image.png"]
    assert record.content_type == "image/png"
    back = decode_png(data)
    assert back.size == (4, 3) and back.convert("RGB").tobytes() == image.tobytes()


def test_a_pil_image_opened_from_a_file_keeps_that_name_and_a_cmyk_image_is_converted(tmp_path: Path) -> None:
    Image.new("RGB", (2, 2), "green").save(tmp_path / "leaf.jpg")
    cmyk = Image.new("CMYK", (2, 2), (0, 255, 255, 0))  # a mode PNG cannot hold
    with Image.open(tmp_path / "leaf.jpg") as opened, sigopt.run() as run:
        run.log_image(opened)
        run.log_image(cmyk, name="cmyk")
    files = stored(run.id)
    assert decode_png(files["leaf.png"][1]).size == (2, 2)
    assert decode_png(files["cmyk"][1]).convert("RGB").getpixel((0, 0)) == cmyk.convert("RGB").getpixel((0, 0))


def test_a_matplotlib_figure_is_stored_as_svg() -> None:
    figure = matplotlib.figure.Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1, 2], [2, 0, 1])
    with sigopt.run() as run:
        run.log_image(figure, name="loss curve")
    record, data = stored(run.id)["loss curve"]
    assert record.content_type == "image/svg+xml"
    assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"


# -- numpy arrays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((5, 7), "L"), ((5, 7, 1), "L"), ((5, 7, 3), "RGB"), ((5, 7, 4), "RGBA")],
)
def test_an_array_is_stored_as_a_png_of_its_channels(shape: tuple[int, ...], mode: str) -> None:
    pixels = np.arange(math.prod(shape), dtype=np.int64).reshape(shape) % 256
    with sigopt.run() as run:
        run.log_image(pixels)
    back = decode_png(stored(run.id)["array.png"][1])
    assert back.mode == mode and back.size == (7, 5)
    assert np.array_equal(np.asarray(back), pixels.reshape(5, 7) if shape == (5, 7, 1) else pixels)


def test_array_values_are_clipped_to_0_255_and_nan_is_black() -> None:
    values = np.array([[-5.0, 0.4, 254.9, 300.0], [np.nan, np.inf, -np.inf, 128.0]])
    with sigopt.run() as run:
        run.log_image(values)
        run.log_image(np.array([[True, False]]), name="mask")
    files = stored(run.id)
    assert np.asarray(decode_png(files["array.png"][1])).tolist() == [[0, 0, 254, 255], [0, 255, 0, 128]]
    assert np.asarray(decode_png(files["mask"][1])).tolist() == [[1, 0]]


def test_an_array_changed_after_the_call_is_stored_as_it_was() -> None:
    pixels = np.zeros((2, 2), dtype=np.uint8)
    with sigopt.run() as run:
        run.log_image(pixels)
        pixels[:] = 200  # encoded at the call, on the caller's thread
    assert np.asarray(decode_png(stored(run.id)["array.png"][1])).tolist() == [[0, 0], [0, 0]]


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros(4), r"2 dimensions, or 3 with 1, 3 or 4 channels, got shape \(4,\)"),
        (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\)"),
        (np.zeros((2, 2, 3, 1)), r"got shape \(2, 2, 3, 1\)"),
        (np.zeros((0, 3)), r"must not be empty"),
        (np.zeros((2, 2), dtype=complex), r"booleans, integers or floats, got dtype complex128"),
        (np.array([["a", "b"]]), r"booleans, integers or floats"),
    ],
)
def test_an_array_that_cannot_be_an_image_raises_naming_the_field(array: Any, match: str) -> None:
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError, match=rf"^image as a numpy array .*{match}"):
            run.log_image(array)
    assert sigopt.list_files(run.id) == []


def test_an_array_whose_png_is_over_the_limit_raises_naming_the_field() -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(1300, 1300, 3), dtype=np.uint8)  # about 5 MB of PNG
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError, match=r"image \(encoded as image/png\) must be at most 4194304"):
            run.log_image(noise)
    assert sigopt.list_files(run.id) == []


# -- what is skipped, what raises ------------------------------------------------------------------


@pytest.mark.parametrize("image", [object(), 3, b"\x89PNG", [[0, 1], [1, 0]], {"x": 1}, None])
def test_an_unsupported_object_is_skipped_with_a_warning_naming_what_is_taken(image: Any) -> None:
    with sigopt.run() as run:
        with pytest.warns(
            RuntimeWarning, match=r"skipped an image of type .*PIL\.Image\.Image.*numpy\.ndarray"
        ) as seen:
            assert run.log_image(image) is None
        with pytest.warns(RuntimeWarning, match="skipped an image") as seen_at_module_level:
            assert sigopt.log_image(image) is None
        run.log_metric("after", 1.0)
    # The warnings point at the user's calls, not into the library.
    assert seen[0].filename == seen_at_module_level[0].filename == __file__
    assert sigopt.list_files(run.id) == []


@pytest.mark.parametrize("name", ["", "x" * 201, 7, "tab\there", "nul\x00"])
def test_a_bad_name_raises_naming_the_field(name: Any) -> None:
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError, match="image name"):
            run.log_image(np.zeros((2, 2)), name=name)


def test_logging_an_image_after_the_run_ended_raises() -> None:
    with sigopt.run() as run:
        pass
    with pytest.raises(sigopt.UsageError, match="already finished"):
        run.log_image(np.zeros((2, 2)))


def test_without_pillow_an_array_is_skipped_with_a_warning_naming_the_extra(store: Path) -> None:
    # A real interpreter in which Pillow cannot be imported, as where the images extra is not installed.
    result = run_python(
        """
        import sys, warnings
        sys.modules["PIL"] = None  # `import PIL` now raises ImportError, as when Pillow is not installed
        import numpy as np
        import sigopt_ai as sigopt
        with sigopt.run() as run:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                skipped = run.log_image(np.zeros((2, 2)))
        print(skipped, len(sigopt.list_files(run.id)), seen[0].category.__name__)
        print(seen[0].message)
        """,
        env={"SIGOPT_AI_DB": str(store)},
    )
    assert result.returncode == 0, result.stderr
    summary, message = result.stdout.splitlines()
    assert summary == "None 0 RuntimeWarning"
    assert 'pip install "sigopt-ai[images]"' in message


def test_images_import_neither_pil_nor_matplotlib_unless_the_image_is_theirs(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"png bytes")
    result = run_python(
        f"""
        import sys, warnings, json
        import sigopt_ai as sigopt
        warnings.simplefilter("ignore")
        with sigopt.run() as run:
            run.log_image({str(path)!r})
            run.log_image(object())
            run.log_file(b"raw", name="raw.bin")
        print(json.dumps([m for m in ("PIL", "matplotlib", "numpy") if m in sys.modules]))
        """,
        env={"SIGOPT_AI_DB": str(store)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


# -- hostile input ---------------------------------------------------------------------------------

HOSTILE_IMAGES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=30),
    st.binary(max_size=64),
    st.lists(st.integers(0, 255), max_size=5),
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int8, np.uint16, np.int64, np.float64, np.float32, np.bool_, np.complex64]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
    ),
)
HOSTILE_FILES = st.one_of(st.binary(max_size=256), st.text(max_size=30), st.integers(), st.none())
HOSTILE_NAMES = st.one_of(st.none(), st.text(max_size=120), st.integers())
HOSTILE_TYPES = st.one_of(st.none(), st.text(max_size=120), st.sampled_from(["image/png", "text/plain; charset=utf-8"]))


@given(
    calls=st.lists(
        st.one_of(
            st.tuples(st.just("image"), HOSTILE_IMAGES, HOSTILE_NAMES),
            st.tuples(st.just("file"), HOSTILE_FILES, HOSTILE_NAMES, HOSTILE_TYPES),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_hostile_input_never_jams_the_writer_or_loses_the_runs_other_records(calls: list[tuple[Any, ...]]) -> None:
    accepted: dict[str, bytes | None] = {}  # file id -> the bytes given (None: an image we encoded)
    with sigopt.run() as run:
        for i, call in enumerate(calls):
            run.log_metric("step", i)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                try:
                    if call[0] == "image":
                        file_id = run.log_image(call[1], name=call[2])
                    else:
                        file_id = run.log_file(call[1], name=call[2], content_type=call[3])
                except sigopt.SigOptError:
                    continue  # a rejection naming the field is a valid answer; it must not hurt what follows
            # Skipped with a RuntimeWarning, as sigopt-python skips it, or stored without a warning.
            assert [w.category for w in seen] == ([RuntimeWarning] if file_id is None else [])
            if file_id is not None:
                accepted[file_id] = bytes(call[1]) if call[0] == "file" else None
        run.log_metric("done", 1.0)
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.COMPLETED and record.metrics["done"] == 1.0
    assert [p.value for p in sigopt.metric_history(run.id, "step")] == [float(i) for i in range(len(calls))]
    files = {f.id: f for f in sigopt.list_files(run.id)}
    assert set(files) == set(accepted)
    for file_id, given_bytes in accepted.items():
        data = sigopt.read_file(file_id)
        assert files[file_id].size == len(data)
        if given_bytes is not None:
            assert data == given_bytes
        else:
            decode_png(data)
