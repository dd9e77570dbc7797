import numpy as np
import pytest
import torch
from PIL import Image

from bridge.errors import BridgeValidationError
from data.dataset import DatasetSpec, load_image, read_csv


@pytest.mark.parametrize(("mode", "ext"), [("L", "png"), ("RGBA", "png"), ("RGB", "jpg"), ("L", "jpg"), ("P", "png")])
def test_any_image_decodes_as_three_channel_uint8(tmp_path, mode, ext):
    path = tmp_path / f"img.{ext}"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (10, 14, 3), dtype=np.uint8)).convert(mode).save(path)
    img = load_image(str(path), 2)
    assert img.shape == (3, 10, 14) and str(img.dtype) == "torch.uint8"


def test_undecodable_image_names_path_and_row(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"not an image")
    with pytest.raises(BridgeValidationError, match=r"cannot decode image .*bad\.png \(CSV row 7\)"):
        load_image(str(path), 7)


def test_relative_paths_resolve_against_the_csv_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "sub" / "a.png")
    (tmp_path / "d.csv").write_text("pic,who\nsub/a.png,7\n")
    frame = read_csv(DatasetSpec(str(tmp_path / "d.csv"), "pic", "who"))
    assert frame["image"].tolist() == [str(tmp_path / "sub" / "a.png")]
    assert frame["label"].tolist() == [7]


def test_every_bad_row_is_named(tmp_path):
    (tmp_path / "d.csv").write_text("image,label\nmissing.png,a\n,b\nx.png,\n")
    with pytest.raises(BridgeValidationError) as info:
        read_csv(DatasetSpec(str(tmp_path / "d.csv"), "image", "label"))
    message = str(info.value)
    assert "row 2: image file not found" in message
    assert "row 3: empty image path" in message
    assert "row 4: empty label" in message


def test_three_crop_takes_start_centre_and_end_squares_of_the_long_side():
    from data.transforms import three_crop_transform

    img = torch.arange(10, dtype=torch.uint8).repeat(3, 4, 1)  # 3 × 4 × 10, columns numbered 0..9
    crops = three_crop_transform(4)(img)
    assert crops.shape == (3, 3, 4, 4)
    first_columns = [round(float(c[0, 0, 0] * 0.229 + 0.485) * 255) for c in crops]
    assert first_columns == [0, 3, 6]  # start, centre ((10 - 4) // 2), end (10 - 4)


def test_images_above_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch) -> None:
    from PIL import Image

    big = tmp_path / "big.png"
    Image.new("RGB", (400, 300)).save(big)
    monkeypatch.setenv("RECOGNITE_MAX_IMAGE_PIXELS", "100000")
    with pytest.raises(BridgeValidationError, match=r"400 × 300 = 120,000 pixels, above the limit of 100,000"):
        load_image(str(big), 5)
    monkeypatch.setenv("RECOGNITE_MAX_IMAGE_PIXELS", "120000")
    assert load_image(str(big), "paths[0]").shape == (3, 300, 400)


def test_decode_errors_say_where_without_build_paths(tmp_path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(BridgeValidationError) as caught:
        load_image(str(junk), "paths[3]")
    message = str(caught.value)
    assert "(paths[3])" in message and ".cpp" not in message and "/__w/" not in message
