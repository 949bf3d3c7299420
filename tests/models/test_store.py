"""What CanvasEdit records about pulls: which commit an entry means, with no hub and no files fetched."""

from __future__ import annotations

import pytest

from canvasedit import paths
from canvasedit.models import store
from canvasedit.models.catalog import CatalogEntry
from canvasedit.models.errors import ModelError

REPO = "test-org/tiny"
OLD, NEW = "a" * 40, "b" * 40


def entry(**changes) -> CatalogEntry:
    return CatalogEntry(**{"name": "tiny", "family": "llada", "repo": REPO, "user": True, **changes})


def pulled(commit: str, revision: str = "main", name: str = "tiny") -> store.Manifest:
    manifest = store.Manifest(REPO, commit, revision, name, complete=True, pulled_at=1.0)
    store.save_manifest(manifest)
    return manifest


def point_main_at(commit: str) -> None:
    ref = store.repo_folder(REPO) / "refs" / "main"
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


def test_the_recorded_pull_wins_over_a_branch_that_moved():
    pulled(OLD)
    pulled(NEW)
    point_main_at(NEW)  # another tool fetched a newer main into the shared cache
    store.record_pull("tiny", REPO, "main", OLD)
    assert store.find_manifest(entry()).commit == OLD
    assert store.find_manifest(entry(), "main").commit == NEW  # asking for the branch follows it
    store.forget_pull("tiny")
    assert store.find_manifest(entry()).commit == NEW


def test_a_pinned_entry_pulled_at_a_branch_uses_what_it_pulled():
    pulled(OLD, revision=OLD)
    pulled(NEW)
    store.record_pull("tiny", REPO, "main", NEW)
    assert store.find_manifest(entry(revision=OLD)).commit == NEW
    store.record_pull("tiny", REPO, OLD, OLD)
    assert store.find_manifest(entry(revision=OLD)).commit == OLD


def test_a_record_of_another_repository_or_a_removed_commit_is_not_used():
    pulled(OLD)
    point_main_at(OLD)
    store.record_pull("tiny", "test-org/other", "main", NEW)  # the name was reused for another repository
    assert store.pulled_commit(entry()) is None and store.find_manifest(entry()).commit == OLD
    store.record_pull("tiny", REPO, "main", NEW)  # no manifest of NEW: the ref decides
    assert store.find_manifest(entry()).commit == OLD


def test_another_entrys_pull_of_the_repository_does_not_stand_for_this_one():
    pulled(OLD, revision=OLD, name="pinned")
    assert store.find_manifest(entry()) is None
    pulled(NEW, revision="v2", name="tiny")  # made with --revision v2 before pulls were recorded
    assert store.find_manifest(entry()).commit == NEW


def test_an_unreadable_record_is_one_line_naming_the_file():
    target = paths.data_dir() / "models" / "pulls.json"
    target.parent.mkdir(parents=True)
    target.write_text("{not json")
    with pytest.raises(ModelError, match="pulls.json is unreadable .*delete it") as err:
        store.find_manifest(entry())
    assert "\n" not in str(err.value)
