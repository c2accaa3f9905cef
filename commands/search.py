"""``strongroom search …`` and ``strongroom audit sample``: full-text search, reindexing, the audit sample."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

import click

from commands.common import (
    State,
    actor_option,
    counted_progress,
    json_option,
    leading_global_options,
    operator_actor,
    pass_state,
    print_json,
)

MARK_OPEN, MARK_CLOSE = "«", "»"  # highlighted terms, when the output is not a terminal
DATE = click.DateTime(formats=["%Y-%m-%d"])


class _QueryByDefault(click.Group):
    """``search WORDS…`` means ``search query WORDS…``; ``search reindex`` is the other subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        start = leading_global_options(args)
        if args[start:] and args[start] not in self.commands and args[start] not in ctx.help_option_names:
            args = [*args[:start], "query", *args[start:]]
        return super().parse_args(ctx, args)


@click.group(cls=_QueryByDefault)
def search() -> None:
    """Find records by what is written in them (Chinese and English).

    \b
    strongroom search 备份 AND 档案                     (備份 and 檔案 match too)
    strongroom search '"monthly report"' --type report --year 2026
    strongroom search 'title:lease OR body:租赁' --from 2026-01-01 --to 2026-03-31
    strongroom search query reindex                   (to search for a word that is a subcommand)
    strongroom search reindex                         (operator: rebuild the index from the archive)

    Query syntax: words (all must match), AND / OR / NOT, "phrases", field:value (name, type,
    year, title, body, filename, uploader, version), wildcards (report*). Titles and snippets are
    shown only for records you may read; numbers that identify customers are masked. Auditors are
    told how many records they may not read also match (search.restricted_hits), for queries of
    plain words only.
    """


@search.command("query")
@click.argument("words", nargs=-1, required=True)
@click.option("--type", "record_type", metavar="TYPE", help="Only records of this type.")
@click.option("--year", type=click.IntRange(1900, 9999), help="Only records of this filing year.")
@click.option("--from", "date_from", type=DATE, help="Filed on or after this day (YYYY-MM-DD, UTC).")
@click.option("--to", "date_to", type=DATE, help="Filed on or before this day (YYYY-MM-DD, UTC).")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True, help="At most this many hits.")
@click.option("--all-versions", is_flag=True, help="Search archived versions too, not only current ones.")
@actor_option
@json_option
@pass_state
def query(state: State, words: tuple[str, ...], record_type: str | None, year: int | None,
          date_from: datetime | None, date_to: datetime | None, limit: int, all_versions: bool,
          actor: str, as_json: bool) -> None:
    """Search for WORDS (Whoosh query syntax); best matches first."""
    results = state.backend(actor).search(
        " ".join(words), record_type=record_type, year=year, date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, limit=limit, all_versions=all_versions,
    )
    if as_json:
        print_json(results.as_dict())
        return
    for hit in results.hits:
        click.echo(_hit_text(hit, sys.stdout.isatty()))
    if not results.hits:
        click.echo("no matches", err=True)
    note = restricted_note(results.restricted_count, results.restricted_skipped)
    if note:
        click.echo(note, err=True)


def restricted_note(count: int | None, skipped: bool) -> str | None:
    """The line that tells an auditor about matching records they may not read (see ``search.restricted_hits``)."""
    if skipped:
        return ("records you may not read were not searched: only plain words (no field:value, wildcards, "
                "ranges or digits) are matched against them")
    if count:
        return (f"{count} more matching record{'s' if count > 1 else ''} you may not read, not listed; to ask for "
                "one, find it in 'strongroom ls' and run 'strongroom access request NAME --reason TEXT'")
    return None


def _hit_text(hit: Any, terminal: bool) -> str:
    if hit.restricted:
        return f"{hit.name:<24} {hit.type:<10} {hit.note}"
    label = hit.name if hit.current else f"{hit.name} v{hit.version} (archived)"
    lines = [f"{label:<24} {hit.type:<10} {(hit.filed or '')[:10]}  score {hit.score:.2f}"]
    if hit.title:
        lines.append(f"    {hit.title}")
    if hit.snippet:
        lines.append(f"    {_highlighted(hit.snippet, hit.highlights, terminal)}")
    elif hit.indexed == "metadata":
        lines.append("    (indexed by metadata only)")
    return "\n".join(lines)


def _highlighted(text: str, spans: list[tuple[int, int]], terminal: bool) -> str:
    out, done = [], 0
    for start, end in spans:
        word = text[start:end]
        out.append(text[done:start])
        out.append(click.style(word, bold=True, underline=True) if terminal else f"{MARK_OPEN}{word}{MARK_CLOSE}")
        done = end
    out.append(text[done:])
    return "".join(out)


@search.command("reindex")
@pass_state
def reindex(state: State) -> None:
    """Rebuild the search index from the archive (operator, on the service host).

    Decrypts every stored version and extracts its text; searches keep using the old index
    until the new one is complete. Also repairs a damaged index. A version the storage
    cannot deliver is one line and left out (exit 1); the others are indexed.
    """
    from operations.search import reindex as rebuild

    started = time.monotonic()
    with counted_progress("indexing", True) as on_progress:
        report = rebuild(state.archive, operator_actor(), on_progress)
    for item in report.left_out:
        click.echo(f"not indexed: {item}")
    click.echo(f"search index rebuilt: {report.added} version(s) in {time.monotonic() - started:.1f} s"
               + (f"; {len(report.left_out)} left out, tried again by the next sync of their record or reindex"
                  if report.left_out else ""))
    if report.left_out:
        sys.exit(1)


@click.command("sample")
@click.option("--type", "record_type", metavar="TYPE", required=True, help="Record type to sample.")
@click.option("--quarter", required=True, metavar="YYYYQN", help="Quarter of filing, e.g. 2026Q4.")
@click.option("--n", "n", type=click.IntRange(min=1), default=20, show_default=True, help="Sample size.")
@click.option("--seed", help="Draw the same sample again.  [default: a new random seed, shown]")
@actor_option
@json_option
@pass_state
def audit_sample(state: State, record_type: str, quarter: str, n: int, seed: str | None, actor: str,
                 as_json: bool) -> None:
    """A random sample of a quarter's records for the internal audit (auditors, director).

    The same --seed gives the same sample; the draw is recorded in the audit trail.
    """
    sample = state.backend(actor).audit_sample(record_type, quarter, n, seed)
    if as_json:
        print_json(sample.as_dict())
        return
    click.echo(f"audit sample: {len(sample.records)} of {sample.population} {sample.type} record(s) filed in "
               f"{sample.quarter}, seed {sample.seed} (draw it again with --seed {sample.seed})")
    for number, item in enumerate(sample.records, start=1):
        click.echo(f"{number:>4}. {item.name:<24} {item.filed_at[:10]}  {item.filed_by:<14} {item.title or ''}".rstrip())
