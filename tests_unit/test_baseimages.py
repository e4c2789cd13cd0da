"""deployproof.baseimages: recipe hashing and mirror discovery (no docker, no debootstrap needed)."""

from __future__ import annotations

from deployproof import baseimages


def test_rootfs_recipe_hash_is_stable_and_follows_the_setup_script(monkeypatch, tmp_path):
    assert baseimages.rootfs_recipe_hash() == baseimages.rootfs_recipe_hash()
    script = tmp_path / "rootfs-setup.sh"
    script.write_text(baseimages.ROOTFS_SETUP.read_text() + "\n# changed\n")
    before = baseimages.rootfs_recipe_hash()
    monkeypatch.setattr(baseimages, "ROOTFS_SETUP", script)
    assert baseimages.rootfs_recipe_hash() != before


def test_mirror_override_wins(monkeypatch):
    monkeypatch.setenv("DEPLOYPROOF_DEBIAN_MIRROR", "http://mirror.invalid/debian")
    assert baseimages.debian_mirror() == "http://mirror.invalid/debian"
