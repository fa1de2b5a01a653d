"""`assets/`: the files Reflex copies into the web build (served at the site root), kept in git."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from reflex_base.constants import DefaultPage, Dirs

from leadapp.core.settings import ROOT

FAVICON = ROOT / Dirs.APP_ASSETS / DefaultPage.IMAGE


def test_the_favicon_reflex_links_by_default_is_a_valid_icon() -> None:
    # Reflex copies `assets/` into the build's public folder and names `favicon.ico` as every page's image;
    # browsers ask for /favicon.ico on their own.
    assert FAVICON == ROOT / "assets" / "favicon.ico"
    data = FAVICON.read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1), "not an ICO file"
    assert count >= 1
    sizes = set()
    for index in range(count):
        width, _height, _colors, _res, _planes, _bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        image = data[offset : offset + length]
        assert len(image) == length and image.startswith(b"\x89PNG\r\n\x1a\n")
        sizes.add(width or 256)
    assert {16, 32} <= sizes


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_assets_are_not_git_ignored_but_generated_external_assets_are() -> None:
    def ignored(path: str) -> bool:
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode in (0, 1), result
        return result.returncode == 0

    assert not ignored("assets/favicon.ico")
    assert ignored("assets/external/some_component/file.js")
