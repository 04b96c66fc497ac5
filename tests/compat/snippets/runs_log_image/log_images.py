# Source: sigopt/sigopt-python test/runs/test_utils.py (https://github.com/sigopt/sigopt-python/blob/main/test/runs/test_utils.py):
#   every kind of image its create_api_image_payload takes (a PIL image, a matplotlib figure, H x W and
#   H x W x {1,3,4} numpy arrays, .png/.svg/.bmp paths; a .txt path and a dict are refused with a
#   RuntimeWarning), logged the way users log them: sigopt.log_image / run.log_image (sigopt-reference.md §1.3).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the test's fixtures are built inline;
#   test_files/test.{png,svg,bmp} are the repo's own files, test.txt is a stand-in for its missing test.txt.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy
from matplotlib import pyplot as plt
from PIL import Image

import sigopt_ai as sigopt

pil_image = Image.new("RGB", (16, 16), (255, 0, 0))
matplotlib_figure = plt.figure()
plt.plot([1, 2, 3, 4])
plt.ylabel("for testing")

with sigopt.create_run(name="images") as run:
    run.log_image(pil_image, name="pil")
    run.log_image(matplotlib_figure, name="figure")
    run.log_image(numpy.random.randint(0, 255, (32, 16)), name="gray")
    for n in [1, 3, 4]:
        run.log_image(numpy.random.randint(0, 255, (32, 16, n)), name=f"channels-{n}")
    clipped = numpy.ones((32, 16)) * 512
    clipped[:16] = -256
    run.log_image(clipped, name="clipped")
    for path in ["test_files/test.png", "test_files/test.svg", "test_files/test.bmp"]:
        run.log_image(path)
    for unsupported in ["test_files/test.txt", {}]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.log_image(unsupported)
        assert caught and issubclass(caught[-1].category, RuntimeWarning), caught
print("run", run.id)
