"""deployproof.imagebuild: the content tag that decides whether an image is rebuilt (no docker needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from deployproof.imagebuild import (
    CONTEXT_DOCKERFILE,
    BuildContext,
    content_hash,
    ignore_patterns,
    write_context_tar,
)

IGNORE_RULES = "# comment\nnode_modules\n**/__pycache__\n.next\n"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """An app folder and a Dockerfile with ignore rules beside it, like dockerfiles/ and app/<part>."""
    app = tmp_path / "app"
    (app / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (app / "src" / "pkg" / "main.py").write_text("print('hello')\n")
    (app / "src" / "pkg" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\x00compiled")
    (app / "node_modules" / "left-pad").mkdir(parents=True)
    (app / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    (app / "package.json").write_text("{}\n")
    dockerfiles = tmp_path / "dockerfiles"
    dockerfiles.mkdir()
    dockerfile = dockerfiles / "app.Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /app\n")
    (dockerfiles / "app.Dockerfile.dockerignore").write_text(IGNORE_RULES)
    return app, dockerfile


def tag_of(app: Path, dockerfile: Path, **buildargs: str) -> str:
    return content_hash(BuildContext.from_dir(app, dockerfile), buildargs)


def test_hash_is_stable_for_unchanged_content(project):
    app, dockerfile = project
    assert tag_of(app, dockerfile) == tag_of(app, dockerfile)


def test_hash_ignores_timestamps(project):
    app, dockerfile = project
    before = tag_of(app, dockerfile)
    main = app / "src" / "pkg" / "main.py"
    main.write_text(main.read_text())  # same bytes, new mtime
    assert tag_of(app, dockerfile) == before


def test_hash_changes_when_a_source_file_changes(project):
    app, dockerfile = project
    before = tag_of(app, dockerfile)
    (app / "src" / "pkg" / "main.py").write_text("print('changed')\n")
    assert tag_of(app, dockerfile) != before


def test_hash_changes_when_a_file_is_added_or_made_executable(project):
    app, dockerfile = project
    before = tag_of(app, dockerfile)
    (app / "src" / "pkg" / "extra.py").write_text("")
    added = tag_of(app, dockerfile)
    assert added != before
    (app / "src" / "pkg" / "extra.py").chmod(0o755)
    assert tag_of(app, dockerfile) != added


def test_hash_changes_with_the_dockerfile_and_build_args(project):
    app, dockerfile = project
    before = tag_of(app, dockerfile, PYTHON_BASE="python:3.11-slim-bookworm")
    assert tag_of(app, dockerfile, PYTHON_BASE="deployproof-base/python:abc") != before
    dockerfile.write_text("FROM scratch\nCOPY . /srv\n")
    assert tag_of(app, dockerfile, PYTHON_BASE="python:3.11-slim-bookworm") != before


def test_label_only_build_args_do_not_change_the_hash(project):
    app, dockerfile = project
    assert tag_of(app, dockerfile, IMAGE_REVISION="aaaa") == tag_of(app, dockerfile, IMAGE_REVISION="bbbb")


def test_ignored_files_are_not_in_the_context_nor_the_hash(project):
    app, dockerfile = project
    context = BuildContext.from_dir(app, dockerfile)
    assert [name for name, _ in context.files] == ["package.json", "src/pkg/main.py"]
    before = content_hash(context, {})
    (app / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 2\n")
    (app / "src" / "pkg" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\x00recompiled")
    (app / ".next").mkdir()
    (app / ".next" / "BUILD_ID").write_text("x")
    assert tag_of(app, dockerfile) == before


def test_context_tar_holds_exactly_the_hashed_files(project):
    app, dockerfile = project
    context = BuildContext.from_dir(app, dockerfile)
    out = io.BytesIO()
    write_context_tar(context, out)
    with tarfile.open(fileobj=out) as tar:
        members = tar.getmembers()
    assert sorted(m.name for m in members) == sorted(["package.json", "src/pkg/main.py", CONTEXT_DOCKERFILE])
    assert {m.uid for m in members} == {0} and len({m.mtime for m in members}) == 1


def test_ignore_patterns_skip_comments_and_blank_lines(project):
    _, dockerfile = project
    assert ignore_patterns(dockerfile) == ["node_modules", "**/__pycache__", ".next"]
