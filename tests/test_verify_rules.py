"""The pure rules behind verify's report: sorting a bucket listing, sizes, which failures are one object's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st
from minio.error import InvalidResponseError, S3Error, ServerError

from archive.inventory import (
    DELETE_MARKER,
    FOREIGN,
    MarkerLook,
    RecordKeys,
    judge_markers,
    retired_keys_and_replaced,
    sort_listing,
)
from archive.numbers import DISPOSED, UNREADABLE_VOID, VOID, marker_kind
from archive.objects import check_size
from catalog.schema import RecordState
from encryption.envelope import EnvelopeError
from errors import ObjectUnreadable, StorageUnavailable
from storage.s3 import StoredVersion, _object_size, answered_failure, object_failure

NAME = "2026-0001-contract"
OTHER = "2026-0002-contract"


def stored(key: str, version_id: str, *, marker: bool = False, minute: int = 0) -> StoredVersion:
    return StoredVersion(key, version_id, 0 if marker else 100, datetime(2026, 1, 1, 9, minute, tzinfo=UTC), True,
                         marker)


def keys(name: str, state: str = RecordState.ACTIVE, *pinned: tuple[str, str]) -> RecordKeys:
    return RecordKeys(name, state, frozenset(pinned))


def test_pinned_versions_need_no_look_and_the_rest_are_sorted() -> None:
    records = {
        NAME: keys(NAME, RecordState.ACTIVE, (f"current/{NAME}", "v2"), (f"archive/{NAME}/v000001", "a1")),
        OTHER: keys(OTHER, RecordState.DISPOSED),
    }
    listing = [
        stored(f"current/{NAME}", "v2"),
        stored(f"archive/{NAME}/v000001", "a1"),
        stored(f"current/{NAME}", "v1"),  # e.g. the superseded copy kept by Object Lock
        stored(f"archive/{NAME}/v000001", "a0"),
        stored(f"current/{NAME}", "dm", marker=True),
        stored(f"current/{OTHER}", "o1"),
        stored("current/notes.txt", "n1"),
        stored(f"archive/{NAME}/v1", "bad"),  # not the canonical archive key
        stored("current/2026-0009-letter", "u1"),
    ]
    findings, unpinned = sort_listing(listing, records)
    assert [(f.key, f.kind) for f in findings] == [
        (f"current/{NAME}", DELETE_MARKER),
        ("current/notes.txt", FOREIGN),
        (f"archive/{NAME}/v1", FOREIGN),
        ("current/2026-0009-letter", FOREIGN),
    ]
    assert "no record 2026-0009-letter" in findings[-1].detail
    assert [(u.item.version_id, u.name, u.archive_version, u.disposed) for u in unpinned] == [
        ("v1", NAME, None, False), ("a0", NAME, 1, False), ("o1", OTHER, None, True),
    ]


def test_records_being_disposed_of_and_replaced_versions_are_left_alone() -> None:
    records = {NAME: keys(NAME, RecordState.DISPOSING), OTHER: keys(OTHER)}
    listing = [stored(f"current/{NAME}", "x"), stored(f"current/{NAME}", "m", marker=True),
               stored(f"current/{OTHER}", "replaced-by-restore")]
    assert sort_listing(listing, records, frozenset({"replaced-by-restore"})) == ([], [])


def test_delete_markers_are_always_reported() -> None:
    records = {NAME: keys(NAME, RecordState.ACTIVE, (f"current/{NAME}", "dm"))}
    findings, _ = sort_listing([stored(f"current/{NAME}", "dm", marker=True)], records)
    assert [f.kind for f in findings] == [DELETE_MARKER]
    assert "delete the marker (that version id)" in findings[0].line


def test_which_records_need_a_number_marker() -> None:
    assert marker_kind(RecordState.VOID, "upload failed: disk full") == VOID
    assert marker_kind(RecordState.VOID, None) == VOID
    assert marker_kind(RecordState.DISPOSED, None) == DISPOSED
    for state in (RecordState.ACTIVE, RecordState.PENDING, RecordState.DISPOSING):
        assert marker_kind(state, None) is None
    assert marker_kind(RecordState.VOID, f"{UNREADABLE_VOID} (current/{NAME} (v1))") is None, \
        "its unreadable objects keep the number; a void marker would void it for good"


def test_versions_under_numbers_are_looked_into_only_for_records_that_need_a_marker() -> None:
    kept = f"{UNREADABLE_VOID} (current/{OTHER} (o1))"
    records = {NAME: RecordKeys(NAME, RecordState.VOID, frozenset(), VOID),
               OTHER: RecordKeys(OTHER, RecordState.VOID, frozenset(), None, kept),
               "2026-0003-contract": RecordKeys("2026-0003-contract", RecordState.ACTIVE, frozenset())}
    listing = [stored(f"numbers/{NAME}", "m1"), stored(f"numbers/{NAME}", "dm", marker=True),
               stored(f"numbers/{OTHER}", "k1"), stored(f"current/{OTHER}", "o1"),
               stored("numbers/2026-0003-contract", "a1"), stored("numbers/2026-0004-contract", "n1"),
               stored("numbers/whatever", "w1")]
    findings, unpinned = sort_listing(listing, records)
    assert [(f.key, f.kind) for f in findings] == [
        (f"numbers/{NAME}", DELETE_MARKER), ("numbers/2026-0003-contract", FOREIGN),
        ("numbers/2026-0004-contract", FOREIGN), ("numbers/whatever", FOREIGN)]
    assert "is active: the archive writes a number marker only for a void or disposed record" in findings[1].detail
    assert "the marker's versions beneath it still keep the number" in findings[0].line
    assert "a catalog rebuild ignores it" in findings[1].line
    assert [(u.item.version_id, u.is_marker) for u in unpinned] == [("m1", True)]


def test_a_records_marker_is_its_newest_authentic_one() -> None:
    record = RecordKeys(NAME, RecordState.VOID, frozenset(), VOID)
    key = f"numbers/{NAME}"
    good = MarkerLook(stored(key, "good", minute=1), kind=VOID)
    forged = MarkerLook(stored(key, "forged", minute=5), failure="damaged", detail="it does not authenticate (x)")
    copied = MarkerLook(stored(key, "copied", minute=6), detail="it is authentic, but not the number marker")
    retired = MarkerLook(stored(key, "old", minute=0), failure="unreadable", detail="retired key", own=True)

    findings, problem = judge_markers(record, [forged, good, copied, retired])
    assert problem is None
    assert sorted(f.version_id for f in findings) == ["copied", "forged"], "a retired key's marker is the archive's"

    findings, problem = judge_markers(record, [forged, copied])
    assert [f.version_id for f in findings] == ["copied"], "a failed version with no marker beside it is the marker"
    assert problem is not None and (problem.kind, problem.version) == ("damaged", None)
    assert problem.error.startswith(f"number marker of {NAME} is damaged: version forged: it does not authenticate")

    findings, problem = judge_markers(record, [])
    assert findings == [] and problem is not None and problem.kind == "missing"
    assert "run 'strongroom repair'" in problem.error and f"could issue {NAME} again" in problem.error

    disposed = RecordKeys(NAME, RecordState.DISPOSED, frozenset(), DISPOSED)
    _, problem = judge_markers(disposed, [good])
    assert problem is not None and problem.kind == "missing" and "says void, but the record is disposed" in problem.error


def test_the_audit_trail_names_retired_keys_and_replaced_versions() -> None:
    events = [
        ("keys.retire", json.dumps({"keys": ["aa", "bb"]})),
        ("keys.retire", json.dumps({"keys": []})),
        ("backup.restore", json.dumps({"target": "local", "snapshot": "s", "replaced": "v9"})),
        ("backup.restore", json.dumps({"target": "local", "snapshot": "s", "objects": 3})),  # a whole restore
    ]
    assert retired_keys_and_replaced(events) == (frozenset({"aa", "bb"}), frozenset({"v9"}))


def test_an_object_must_have_the_size_it_was_written_with() -> None:
    check_size(1000, 1000)
    with pytest.raises(EnvelopeError, match="1 more than written"):
        check_size(1001, 1000)
    with pytest.raises(EnvelopeError, match="truncated"):
        check_size(999, 1000)


@given(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(1, 2**50), st.integers(0, 2**20))
def test_the_object_size_is_read_from_content_range(first: int, last: int, total: int, received: int) -> None:
    assert _object_size(f"bytes {first}-{last}/{total}", received) == total


@given(st.one_of(st.none(), st.just(""), st.text(), st.just("bytes 0-9/*")), st.integers(0, 2**20))
def test_without_a_total_the_received_length_is_the_size(header: str | None, received: int) -> None:
    if header and header.rpartition("/")[2].strip().isdigit():
        return
    assert _object_size(header, received) == received


def _s3_error(code: str) -> S3Error:
    return S3Error(None, code, "We encountered an internal error", "/b/k", "req", None)  # type: ignore[arg-type]


def test_an_answer_about_one_object_is_that_objects_failure_while_the_endpoint_answers() -> None:
    for exc in (_s3_error("InternalError"), ServerError("server failed", 500),
                InvalidResponseError(500, "text/plain", "boom"), urllib3.exceptions.ProtocolError("broken")):
        assert answered_failure(exc) is not None
        failure = object_failure(exc, "current/x", "read_range", lambda: True)
        assert isinstance(failure, ObjectUnreadable) and "cannot deliver current/x" in str(failure)
        down = object_failure(exc, "current/x", "read_range", lambda: False)
        assert type(down) is StorageUnavailable


def test_no_answer_is_an_unreachable_storage_and_the_endpoint_is_not_asked() -> None:
    refused = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    for exc in (refused, urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"), ConnectionResetError()):  # type: ignore[arg-type]
        assert answered_failure(exc) is None

        def never() -> bool:
            raise AssertionError("the endpoint is asked only after an answer")

        failure = object_failure(exc, "current/x", "read_range", never)
        assert type(failure) is StorageUnavailable and "unreachable" in str(failure)
