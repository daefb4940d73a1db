"""A campaign run's channel files: what each channel is handed to contact the planned customers.

One call of :func:`write_channel_files` per run and channel reads the run's ``contact_history``
rows with status ``planned`` (never the held-out, deferred or dropped ones) with one query, checks
every address once more against the do-not-contact lists and the opt-outs, and writes:

* ``call``: ``<campaign>_call_<as_of>.csv`` and ``.xlsx`` (sheets **Calls** and **Offers**):
  the call-centre list by planned day and priority, with the offer, its script or arguments
  and the 360-degree essentials an agent needs;
* ``email`` / ``sms``: ``<campaign>_<channel>_<as_of>.csv``, contactable addresses only, with the
  offer and personalisation fields;
* ``mail``: the postal addresses; ``push``: the customer ids (the app knows the devices);
* ``ads``: the hashed ad-audience files of :mod:`clientela.exports.audience`
  (``<campaign>_ads_<as_of>.<platform>.csv``).

A planned contact the last check leaves out (no address, on a do-not-contact list, opted out)
becomes ``dropped`` in the contact history, with the reason: it was never handed to the channel.

A file name already present in the folder (an earlier run of the same day, a trigger's for
instance) is never overwritten: the run id is added to the new file's name.  See
docs/channel-files.md for the columns.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError, suggest
from clientela.exports._campaign_rows import call_essentials, contactable, planned_contacts
from clientela.exports._campaign_workbook import ARGUMENT_SEPARATOR, write_call_workbook
from clientela.exports.audience import write_audiences

__all__ = [
    "ARGUMENT_SEPARATOR",
    "CHANNELS",
    "ChannelFiles",
    "ChannelOffer",
    "channel_name",
    "export_channel_files",
    "write_channel_files",
]

log = logging.getLogger(__name__)

CHANNELS = ("call", "email", "sms", "mail", "push", "ads")
# Other spellings a campaign file or the contact history may use for a channel.
_ALIASES = {
    "call": ("call", "phone", "telephone", "call_centre", "call_center", "callcentre"),
    "email": ("email", "e-mail", "mail_electronic"),
    "sms": ("sms", "text"),
    "mail": ("mail", "post", "postal", "direct_mail"),
    "push": ("push", "app"),
    "ads": ("ads", "ad", "audience", "advertising"),
}
_CHANNEL_OF = {alias: channel for channel, aliases in _ALIASES.items() for alias in aliases}
_TOP_REASONS = 3
_REASONS_SCHEMA = pa.schema(
    [
        pa.field(
            side,
            pa.list_(
                pa.struct(
                    [("feature", pa.string()), ("value", pa.string()), ("effect", pa.float64())]
                )
            ),
        )
        for side in ("raising", "lowering")
    ]
)

# The columns of each file, in order (docs/channel-files.md lists them).
CALL_COLUMNS = (
    "planned_for", "priority", "profile_id", "customer_id", "name", "phone", "city", "offer_id",
    "offer", "script", "arguments", "value_tier", "rfm_segment", "last_purchase",
    "revenue_12m", "orders_12m", "open_issues", "newest_issue", "consent",
    "predictive_score", "score_reasons", "rule_score", "score_decile", "contact_id",
)  # fmt: skip
EMAIL_COLUMNS = (
    "contact_id", "customer_id", "profile_id", "email", "name", "first_name", "city",
    "country", "offer_id", "offer", "planned_for", "priority",
)  # fmt: skip
SMS_COLUMNS = (
    "contact_id", "customer_id", "profile_id", "phone", "name", "first_name", "offer_id",
    "offer", "planned_for", "priority",
)  # fmt: skip
MAIL_COLUMNS = (
    "contact_id", "customer_id", "profile_id", "name", "address", "postal_code", "city",
    "region", "country", "offer_id", "offer", "planned_for", "priority",
)  # fmt: skip
PUSH_COLUMNS = (
    "contact_id", "customer_id", "profile_id", "first_name", "offer_id", "offer",
    "planned_for", "priority",
)  # fmt: skip
_COLUMNS = {
    "call": CALL_COLUMNS,
    "email": EMAIL_COLUMNS,
    "sms": SMS_COLUMNS,
    "mail": MAIL_COLUMNS,
    "push": PUSH_COLUMNS,
}


@dataclass(frozen=True)
class ChannelOffer:
    """What a channel says about an offer: its name, the sales arguments and the agents' script."""

    offer_id: str
    name: str
    arguments: tuple[str, ...] = ()
    script: str | None = None


@dataclass(frozen=True)
class ChannelFiles:
    """The files written for one run and channel, the contacts in them and those left out.

    ``dropped`` counts, by reason, the planned contacts the last check left out (no address, on
    a do-not-contact list, opted out).  ``notes`` are warnings for the user.
    """

    channel: str
    paths: tuple[Path, ...]
    planned: int
    written: int
    dropped: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: ``call: 480 of 500 planned contacts written (20 dropped: 12 no phone...)``."""
        line = f"{self.channel}: {self.written} of {self.planned} planned contacts written"
        if self.dropped:
            reasons = ", ".join(f"{count} {reason}" for reason, count in self.dropped.items())
            line += f" ({sum(self.dropped.values())} left out: {reasons})"
        return line


def channel_name(channel: str) -> str:
    """The channel ``channel`` names (``phone`` is ``call``...); ConfigError when none."""
    key = channel.strip().lower().replace(" ", "_")
    found = _CHANNEL_OF.get(key)
    if found is None:
        hint = suggest(key, [*CHANNELS, *_CHANNEL_OF])
        raise ConfigError(
            f"unknown channel '{channel}'{hint}; the channels are: {', '.join(CHANNELS)}"
        )
    return found


def write_channel_files(
    dm: Datamart,
    settings: Settings,
    *,
    run_id: str,
    campaign: str,
    channel: str,
    offers: Mapping[str, ChannelOffer],
    out_dir: Path,
    as_of: dt.date,
) -> list[Path]:
    """Write the files of ``channel`` for the planned contacts of ``run_id``; their paths.

    Nothing is written when the run planned nobody on the channel (a warning is logged).
    """
    result = export_channel_files(
        dm,
        settings,
        run_id=run_id,
        campaign=campaign,
        channel=channel,
        offers=offers,
        out_dir=out_dir,
        as_of=as_of,
    )
    return list(result.paths)


def export_channel_files(
    dm: Datamart,
    settings: Settings,
    *,
    run_id: str,
    campaign: str,
    channel: str,
    offers: Mapping[str, ChannelOffer],
    out_dir: Path,
    as_of: dt.date,
) -> ChannelFiles:
    """:func:`write_channel_files` with what was written and what was left out, and why."""
    name = channel_name(channel)
    folder = _folder(out_dir)
    planned = planned_contacts(dm, run_id, campaign, _ALIASES[name])
    rows = contactable(dm, planned, name)
    if name == "call":
        rows = call_essentials(dm, settings, rows, planned, as_of)
    fetched = dm.to_pyarrow(rows)
    reasons = fetched.column("drop_reason")
    kept = fetched.filter(pc.is_null(reasons))
    counts = pc.value_counts(reasons.drop_null()).to_pylist()
    dropped = {str(item["values"]): int(item["counts"]) for item in counts}
    dropped_by_reason = dict(sorted(dropped.items(), key=lambda item: (-item[1], item[0])))
    for reason, count in dropped_by_reason.items():
        log.warning("%s %s: %d planned contacts left out: %s", campaign, name, count, reason)
    if kept.num_rows == 0:
        if fetched.num_rows:
            log.warning("%s %s: every planned contact was left out: no file", campaign, name)
        else:
            log.warning("%s: run %s planned nobody to contact by %s", campaign, run_id, name)
        _record_left_out(dm, run_id, name, fetched)
        return ChannelFiles(name, (), fetched.num_rows, 0, dropped_by_reason)

    kept = _with_offers(kept, offers)
    kept = _ordered(kept)
    stem = f"{_file_stem(campaign)}_{name}_{as_of.isoformat()}"
    notes: tuple[str, ...] = ()
    if name == "ads":
        paths, notes = _write_ads(kept, folder, stem, run_id)
    else:
        table = _file_table(kept, name)
        csv_path = _free_path(folder, stem, ".csv", run_id)
        _write_csv(table, csv_path)
        paths = [csv_path]
        if name == "call":
            xlsx_path = csv_path.with_suffix(".xlsx")
            write_call_workbook(table, offers, xlsx_path, campaign=campaign, as_of=as_of)
            paths.append(xlsx_path)
    log.info("%s %s: wrote %d contacts to %s", campaign, name, kept.num_rows, paths[0])
    _record_left_out(dm, run_id, name, fetched)
    return ChannelFiles(
        name, tuple(paths), fetched.num_rows, kept.num_rows, dropped_by_reason, notes
    )


_LEFT_OUT = "_cmp_file_left_out"


def _record_left_out(dm: Datamart, run_id: str, channel: str, fetched: pa.Table) -> None:
    """Mark the contacts the last check left out as ``dropped`` in the contact history, with
    the reason, and move them from ``contacted`` to ``dropped`` in the run's counts: they were
    not handed to the channel, so pressure and results must not count them as contacted."""
    reasons = fetched.column("drop_reason")
    if reasons.null_count == fetched.num_rows:
        return
    left_out = fetched.filter(pc.is_valid(reasons))
    rows = pa.table(
        {
            "contact_id": left_out.column("contact_id"),
            "reason": pc.binary_join_element_wise(
                f"left out of the {channel} file: ", left_out.column("drop_reason"), ""
            ),
        }
    )
    with dm.transaction():
        dm.create_table(_LEFT_OUT, {"contact_id": "string", "reason": "string"}, temp=True)
        try:
            dm.bulk_insert(_LEFT_OUT, rows)
            dm.sql(
                f"UPDATE contact_history SET status = 'dropped', reason = {_LEFT_OUT}.reason "
                f"FROM {_LEFT_OUT} WHERE contact_history.contact_id = {_LEFT_OUT}.contact_id "
                "AND contact_history.run_id = ? AND contact_history.status = 'planned'",
                [run_id],
            )
            dm.sql(
                "UPDATE campaign_runs SET contacted = contacted - ?, dropped = dropped + ? "
                "WHERE run_id = ?",
                [rows.num_rows, rows.num_rows, run_id],
            )
        finally:
            dm.drop_table(_LEFT_OUT)
    log.info("run %s: %d planned contacts marked dropped", run_id, rows.num_rows)


def _folder(out_dir: Path) -> Path:
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"the output folder {folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name.strip()).strip("._")
    return stem or "campaign"


def _free_path(folder: Path, stem: str, suffix: str, run_id: str) -> Path:
    """``folder/stem+suffix``, or with the run id added when another run's file has that name."""
    path = folder / f"{stem}{suffix}"
    if path.exists() or path.with_suffix(".xlsx").exists():
        path = folder / f"{stem}_{_file_stem(run_id)}{suffix}"
    return path


def _with_offers(rows: pa.Table, offers: Mapping[str, ChannelOffer]) -> pa.Table:
    """``rows`` with the offer's name, script and arguments (by ``offer_id``)."""
    offer_ids = rows.column("offer_id")
    if len(offers) == 1:
        # A one-offer campaign may leave the offer unsaid in the contact history.
        offer_ids = pc.fill_null(offer_ids, next(iter(offers)))
    known = list(offers.values())
    index = pc.index_in(offer_ids, value_set=pa.array([o.offer_id for o in known], pa.string()))
    names = pc.take(pa.array([o.name for o in known], pa.string()), index)
    scripts = [o.script.strip() if o.script else None for o in known]
    scripts = pc.take(pa.array(scripts, pa.string()), index)
    listed = [ARGUMENT_SEPARATOR.join(a.strip() for a in o.arguments) for o in known]
    arguments = pc.take(pa.array(listed, pa.string()), index)
    rows = rows.set_column(rows.schema.get_field_index("offer_id"), "offer_id", offer_ids)
    return (
        rows.append_column("offer", pc.coalesce(names, offer_ids))
        .append_column("script", scripts)
        .append_column("arguments", pc.if_else(pc.equal(arguments, ""), None, arguments))
    )


def _ordered(rows: pa.Table) -> pa.Table:
    """By planned day, priority (highest first), then profile: the same order on every backend."""
    return rows.sort_by(
        [("planned_for", "ascending"), ("priority", "descending"), ("profile_id", "ascending")]
    )


# The first word of a name, after a title (``Dr Jane Smith`` -> ``Jane``).
_FIRST_NAME = r"^(?i:(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame)\.?\s+)?(?P<first>[^\s,]+)"


def _first_names(rows: pa.Table) -> pa.Array:
    """A person's first name for a greeting (null for companies and nameless customers)."""
    names = pc.utf8_trim_whitespace(rows.column("name").combine_chunks())
    first = pc.struct_field(pc.extract_regex(names, _FIRST_NAME), "first")
    is_company = pc.fill_null(pc.equal(rows.column("kind"), "company"), False)
    return pc.if_else(is_company, pa.nulls(rows.num_rows, pa.string()), first)


def _file_table(rows: pa.Table, channel: str) -> pa.Table:
    columns = dict(zip(rows.column_names, rows.columns, strict=True))
    columns["first_name"] = _first_names(rows)
    columns["priority"] = pc.round(rows.column("priority"), 2)
    if channel == "call":
        columns["predictive_score"] = _predictive_score(rows)
        columns["score_reasons"] = _score_reasons(rows.column("reasons_json"))
        columns["rule_score"] = _rule_score(rows)
    wanted = _COLUMNS[channel]
    return pa.table({name: columns[name] for name in wanted})


def _predictive_score(rows: pa.Table) -> pa.Array:
    """``churn 0.82 (decile 1)`` for the newest predictive score, null without one."""
    probability = pc.round(rows.column("probability"), 2)
    return pc.binary_join_element_wise(
        rows.column("predictive_model"),
        " ",
        pc.cast(probability, pa.string()),
        " (decile ",
        pc.cast(rows.column("decile"), pa.string()),
        ")",
        "",
    )


def _rule_score(rows: pa.Table) -> pa.Array:
    """``engagement 72.5 (hot)`` for the newest rule score, null without one."""
    score = pc.cast(pc.round(rows.column("rule_score"), 1), pa.string())
    with_band = pc.binary_join_element_wise(
        rows.column("rule_model"), " ", score, " (", rows.column("rule_band"), ")", ""
    )
    without_band = pc.binary_join_element_wise(rows.column("rule_model"), " ", score, "")
    return pc.coalesce(with_band, without_band)


def _score_reasons(documents: pa.ChunkedArray) -> pa.Array:
    """The top reasons raising the score: ``feature = value (+0.42); ...`` (vectorised)."""
    count = len(documents)
    if count == 0 or documents.null_count == count:
        return pa.nulls(count, pa.string())
    filled = pc.fill_null(documents.combine_chunks(), "{}").to_pylist()
    parsed = pajson.read_json(
        io.BytesIO("\n".join(filled).encode("utf-8")),
        parse_options=pajson.ParseOptions(explicit_schema=_REASONS_SCHEMA),
    )
    raising = parsed.column("raising").combine_chunks()
    raising = pc.fill_null(raising, pa.scalar([], type=raising.type))
    text: pa.Array = pa.nulls(count, pa.string())
    for rank in range(_TOP_REASONS):
        item = pc.list_flatten(pc.list_slice(raising, rank, rank + 1, return_fixed_size_list=True))
        effect = pc.struct_field(item, "effect")
        signed = pc.if_else(
            pc.less(effect, 0),
            pc.cast(pc.round(effect, 2), pa.string()),
            pc.binary_join_element_wise("+", pc.cast(pc.round(effect, 2), pa.string()), ""),
        )
        one = pc.binary_join_element_wise(
            pc.struct_field(item, "feature"),
            " = ",
            pc.struct_field(item, "value"),
            " (",
            signed,
            ")",
            "",
        )
        joined = pc.binary_join_element_wise(text, one, "; ")
        text = pc.coalesce(joined, text, one)
    return text


def _write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(
        table,
        path,
        write_options=pacsv.WriteOptions(quoting_style="needed"),
    )


def _write_ads(
    rows: pa.Table, folder: Path, stem: str, run_id: str
) -> tuple[list[Path], tuple[str, ...]]:
    """The hashed audience files; an address on a do-not-contact list is left out."""
    listed_email = pc.fill_null(rows.column("email_listed"), False)
    listed_phone = pc.fill_null(rows.column("phone_listed"), False)
    emails = pc.if_else(listed_email, None, rows.column("email")).to_pylist()
    phones = pc.if_else(listed_phone, None, rows.column("phone")).to_pylist()
    taken = (folder / f"{stem}.google-ads.csv").exists()
    name = f"{stem}_{_file_stem(run_id)}" if taken else stem
    files, notes = write_audiences(zip(emails, phones, strict=True), folder, name)
    return [Path(f.path) for f in files], notes
