"""Evidence packages: one zip per recording session, built by a background job.

The package (layout: :mod:`recording.package_layout`) holds the original segment files byte
for byte, the signed manifest (``manifest.json``, ``manifest.sig``, ``manifest.tsr`` when
time-stamped, ``signer.pem``), ``composite.mp4`` (the main room as one grid video with names,
clock and mixed audio, for watching), ``audit.json`` (the session's audit extract) and an index
in Chinese (``索引.html``, ``说明.txt``) saying what is in it and how to check it with
``bilin verify``.

Caucus rooms: a package for the court holds the main room and caucus rooms released to the
court; the others are named in ``withheld.json`` so verification knows their absence is
deliberate. A *sealed* package (``sealed=True``, only for the centre and the mediator, who may
open caucus recordings anyway) holds every room and says so on its index.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import json
import logging
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.access import CAUCUS_ROLES, MAIN_ROOM, released_sub_rooms, session_in_scope
from recording.composite import CompositePlan, VideoSource, render_composite
from recording.storage import RecordingStore
from recording.stores import local_file, open_store
from recording.vocabulary import SegmentStatus, TrackKind, TrackLabel
from server.access import COURT_ROLES, require_role
from server.audit.log import audit
from server.audit.vocabulary import AuditAction, AuditObject
from server.auth.principal import StaffPrincipal
from server.db import Case, HearingParticipant, Job
from server.db.base import utcnow
from server.db.export import RecordingExport
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from server.errors import Forbidden, NotFound
from server.i18n import Catalogues
from server.jobs.runner import JobContext, JobError, JobRunner
from server.settings import Settings

logger = logging.getLogger(__name__)

EXPORT_JOB = "recording_export"
COMPOSITE = "composite.mp4"
AUDIT = "audit.json"
INDEX_HTML = "索引.html"
README_TXT = "说明.txt"
# Segment files that hold media (an open one is still growing; a missing one has none).
WITH_MEDIA = (SegmentStatus.CLOSED, SegmentStatus.RECOVERED)


def package_key(export: RecordingExport) -> str:
    """The storage key of an export's zip (ids only)."""
    return f"exports/{export.session_id}/{export.id}.zip"


def download_name(case: Case, export: RecordingExport) -> str:
    """The file name offered on download."""
    sealed = "-密封" if export.sealed else ""
    return f"证据包-{case.number or case.id}-录像{export.session_id}-{export.id}{sealed}.zip"


async def start_export(
    db: AsyncSession,
    runner: JobRunner,
    session: RecordingSession,
    *,
    requested_by_id: int,
    sealed: bool,
) -> RecordingExport:
    """Record the export and queue its job (in ``db``'s transaction; the caller commits)."""
    export = RecordingExport(
        session_id=session.id, requested_by_id=requested_by_id, sealed=sealed, package_key=""
    )
    db.add(export)
    await db.flush()
    job = await runner.enqueue(
        db,
        EXPORT_JOB,
        {"export_id": export.id},
        case_id=session.case_id,
        created_by_id=requested_by_id,
    )
    export.job_id = job.id
    await db.flush()
    return export


async def request_export(
    db: AsyncSession, runner: JobRunner, who: StaffPrincipal, session_id: int, *, sealed: bool
) -> RecordingExport:
    """Start an export for ``who``: the session must be in their scope (else
    :class:`NotFound`); court staff, the mediator and the centre may export; a sealed package
    only the centre and the mediator. Audited. The caller commits."""
    session = await session_in_scope(db, who, session_id)
    require_role(who, *CAUCUS_ROLES, *COURT_ROLES)
    if sealed and who.role not in CAUCUS_ROLES:
        raise Forbidden()
    export = await start_export(db, runner, session, requested_by_id=who.staff_id, sealed=sealed)
    await audit(
        db,
        who,
        AuditAction.EXPORT,
        case_id=session.case_id,
        object_type=AuditObject.EXPORT,
        object_id=export.id,
        session_id=session.id,
        detail={"step": "requested", "sealed": sealed},
    )
    return export


async def export_in_scope(db: AsyncSession, who: StaffPrincipal, export_id: int) -> RecordingExport:
    """The export if its session is in ``who``'s scope and, when sealed, ``who`` may open
    caucus rooms; otherwise :class:`NotFound` (as if it did not exist)."""
    export = await db.get(RecordingExport, export_id)
    if export is None:
        raise NotFound()
    await session_in_scope(db, who, export.session_id)
    if export.sealed and who.role not in CAUCUS_ROLES:
        raise NotFound()
    return export


# ---------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class TrackInfo:
    """One track as the index lists it."""

    id: int
    participant: str
    role: str
    sub_room: str
    kind: str
    codec: str
    start_ms: int
    end_ms: int | None
    segments: int
    included: bool


@dataclass(frozen=True)
class PackageInfo:
    """Everything the index says."""

    case_number: str
    case_title: str
    session_id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_ms: int
    participants: list[tuple[str, str]]
    tracks: list[TrackInfo]
    withheld: list[str]
    sealed: bool
    manifest_version: int
    manifest_sha256: str
    signer: str
    key_id: str
    timestamped: bool
    exported_at: dt.datetime
    timezone: str


def _role_names(settings: Settings) -> Any:
    return Catalogues.load(settings.web_dir / "i18n").translator("zh-CN")


async def session_duration_ms(db: AsyncSession, session: RecordingSession) -> int:
    """The session's length on its clock: its start to its stop (or its last segment)."""
    last = await db.scalar(
        select(func.max(RecordingSegment.end_ms)).where(RecordingSegment.session_id == session.id)
    )
    span = 0
    if session.ended_at is not None:
        span = int((session.ended_at - session.started_at).total_seconds() * 1000)
    return max(span, int(last or 0))


async def _tracks(db: AsyncSession, session_id: int) -> list[RecordingTrack]:
    return list(
        await db.scalars(
            select(RecordingTrack)
            .where(RecordingTrack.session_id == session_id)
            .order_by(RecordingTrack.participant_id, RecordingTrack.start_ms, RecordingTrack.id)
        )
    )


async def _segments(db: AsyncSession, track_id: int) -> list[RecordingSegment]:
    return list(
        await db.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.track_id == track_id, RecordingSegment.status.in_(WITH_MEDIA))
            .order_by(RecordingSegment.index)
        )
    )


async def plan_composite(
    db: AsyncSession,
    settings: Settings,
    store: RecordingStore,
    session: RecordingSession,
    scratch: Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 15,
) -> CompositePlan:
    """The composite of the session's main room: a tile per participant's camera (and per
    screen share), every microphone mixed; files made local (downloaded into ``scratch`` when
    the store is remote)."""
    translate = _role_names(settings)
    seats = {
        p.id: p
        for p in await db.scalars(
            select(HearingParticipant).where(HearingParticipant.hearing_id == session.hearing_id)
        )
    }
    videos: dict[tuple[int, str], list[Path]] = {}
    audio: list[tuple[Path, ...]] = []
    for track in await _tracks(db, session.id):
        if track.sub_room != MAIN_ROOM:
            continue
        files = [
            await local_file(store, segment.storage_key, scratch)
            for segment in await _segments(db, track.id)
        ]
        if not files:
            continue
        if track.kind == TrackKind.VIDEO:
            videos.setdefault((track.participant_id, str(track.label)), []).extend(files)
        else:
            audio.append(tuple(files))
    tiles = []
    for (participant_id, label), files in videos.items():
        seat = seats.get(participant_id)
        name = seat.name if seat is not None else f"#{participant_id}"
        role = translate(f"hearing.role.{seat.role}") if seat is not None else ""
        if label == TrackLabel.SCREEN:
            role = f"{role}·屏幕共享" if role else "屏幕共享"
        tiles.append(VideoSource(name, role, tuple(files)))
    return CompositePlan(
        tiles=tuple(tiles),
        audio=tuple(audio),
        duration_ms=await session_duration_ms(db, session),
        started_at=session.started_at,
        timezone=settings.timezone,
        width=width,
        height=height,
        fps=fps,
    )


async def package_info(
    db: AsyncSession,
    settings: Settings,
    session: RecordingSession,
    export: RecordingExport,
    withheld: set[str],
    manifest: Any,
) -> PackageInfo:
    """What the index of ``export`` says."""
    from server.db.signing import SigningKey

    translate = _role_names(settings)
    case = await db.get(Case, session.case_id)
    assert case is not None
    seats = {
        p.id: p
        for p in await db.scalars(
            select(HearingParticipant)
            .where(HearingParticipant.hearing_id == session.hearing_id)
            .order_by(HearingParticipant.id)
        )
    }
    tracks = []
    recorded: set[int] = set()
    for track in await _tracks(db, session.id):
        seat = seats.get(track.participant_id)
        recorded.add(track.participant_id)
        count = await db.scalar(select(func.count()).where(RecordingSegment.track_id == track.id))
        tracks.append(
            TrackInfo(
                id=track.id,
                participant=seat.name if seat else f"#{track.participant_id}",
                role=translate(f"hearing.role.{seat.role}") if seat else "",
                sub_room=track.sub_room,
                kind=f"{track.kind}/{track.label}",
                codec=track.codec,
                start_ms=track.start_ms,
                end_ms=track.end_ms,
                segments=int(count or 0),
                included=track.sub_room not in withheld,
            )
        )
    key = await db.scalar(select(SigningKey).where(SigningKey.fingerprint == manifest.key_id))
    signer = ""
    if key is not None:
        from server.db import Organisation

        org = await db.get(Organisation, key.organisation_id)
        signer = f"{org.name}（{org.code}）" if org is not None else ""
    return PackageInfo(
        case_number=case.number or str(case.id),
        case_title=case.title,
        session_id=session.id,
        started_at=session.started_at,
        ended_at=session.ended_at,
        duration_ms=await session_duration_ms(db, session),
        participants=[
            (p.name, translate(f"hearing.role.{p.role}"))
            for p in seats.values()
            if p.id in recorded
        ],
        tracks=tracks,
        withheld=sorted(withheld),
        sealed=export.sealed,
        manifest_version=manifest.version,
        manifest_sha256=manifest.sha256,
        signer=signer,
        key_id=manifest.key_id,
        timestamped=bool(manifest.timestamp_token),
        exported_at=utcnow(),
        timezone=settings.timezone,
    )


def _clock(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _room(sub_room: str) -> str:
    if sub_room == MAIN_ROOM:
        return "主会场"
    return f"背对背调解室 {sub_room.removeprefix('caucus-')}"


def _local(value: dt.datetime | None, zone: str) -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


VERIFY_STEPS = (
    "在装有比邻（Bilin）的电脑上执行：bilin verify <本压缩包文件名>",
    "结果为“完整无误 / INTACT”且退出码为 0，表示每个分段文件的 SHA-256、哈希链和签名均与清单一致；",
    "否则会列出未通过校验的分段文件或清单字段（退出码为 1）。",
    "签名公钥见 signer.pem，可与综治中心网站公布的公钥指纹核对。",
    "composite.mp4 为便于观看而合成的画面，不是原始证据；原始证据为 tracks/ 下的分段文件。",
)


def readme_txt(info: PackageInfo) -> str:
    """``说明.txt``: the index as plain text."""
    lines = [
        "比邻远程视频调解 · 录像证据包",
        "=" * 24,
        f"案件编号：{info.case_number}",
        f"案件名称：{info.case_title}",
        f"录像编号：{info.session_id}",
        f"开始时间：{_local(info.started_at, info.timezone)}（{info.timezone}）",
        f"结束时间：{_local(info.ended_at, info.timezone)}",
        f"时长：{_clock(info.duration_ms)}",
        f"导出时间：{_local(info.exported_at, info.timezone)}",
    ]
    if info.sealed:
        lines.append(
            "【密封】本证据包含全部背对背调解录像，仅供综治中心和调解员使用，不得向法院或当事人提供。"
        )
    elif info.withheld:
        lines.append(f"未包含（背对背调解，未向法院公开）：{'、'.join(map(_room, info.withheld))}")
    lines += ["", "参加人员："]
    lines += [f"  {name}（{role}）" for name, role in info.participants]
    lines += ["", "录像轨道（tracks/<轨道编号>/<分段序号>.webm|mp4）："]
    for t in info.tracks:
        state = "" if t.included else "（未包含）"
        lines.append(
            f"  轨道 {t.id}：{t.participant}（{t.role}） {_room(t.sub_room)} {t.kind} {t.codec} "
            f"{_clock(t.start_ms)}–{_clock(t.end_ms)} 分段 {t.segments} 个{state}"
        )
    lines += [
        "",
        f"签名清单：manifest.json（第 {info.manifest_version} 版，SHA-256 {info.manifest_sha256}）",
        f"签名：manifest.sig（Ed25519），签名机构：{info.signer}，公钥指纹：{info.key_id}",
        "可信时间戳："
        + ("manifest.tsr（RFC 3161）" if info.timestamped else "无（未配置或尚未取得）"),
        "审计记录：audit.json（本录像的查看、下载、导出记录，带哈希链）",
        "合成画面：composite.mp4",
        "",
        "如何校验：",
        *(f"  {i}. {step}" for i, step in enumerate(VERIFY_STEPS, 1)),
    ]
    return "\n".join(lines) + "\n"


def index_html(info: PackageInfo) -> str:
    """``索引.html``: the index as a page (no scripts, no external resources)."""
    e = html.escape
    rows = "\n".join(
        "<tr><td>{}</td><td>{}（{}）</td><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td>"
        "<td>{}</td><td>{}</td></tr>".format(
            t.id,
            e(t.participant),
            e(t.role),
            e(_room(t.sub_room)),
            e(t.kind),
            e(t.codec),
            _clock(t.start_ms),
            _clock(t.end_ms),
            t.segments,
            "是" if t.included else "否（未向法院公开）",
        )
        for t in info.tracks
    )
    people = "".join(f"<li>{e(name)}（{e(role)}）</li>" for name, role in info.participants)
    notice = ""
    if info.sealed:
        notice = (
            '<p class="sealed"><strong>【密封】</strong>本证据包含全部背对背调解录像，'
            "仅供综治中心和调解员使用，不得向法院或当事人提供。</p>"
        )
    elif info.withheld:
        rooms = "、".join(e(_room(r)) for r in info.withheld)
        notice = f"<p>未包含（背对背调解，未向法院公开）：{rooms}</p>"
    steps = "".join(f"<li>{e(step)}</li>" for step in VERIFY_STEPS)
    stamp = "RFC 3161 可信时间戳" if info.timestamped else "无（未配置或尚未取得可信时间戳）"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>录像证据包 · {e(info.case_number)} · 录像 {info.session_id}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em}}
.sealed{{color:#a00}}</style></head>
<body>
<h1>比邻远程视频调解 · 录像证据包</h1>
<dl>
<dt>案件编号</dt><dd>{e(info.case_number)}</dd>
<dt>案件名称</dt><dd>{e(info.case_title)}</dd>
<dt>录像编号</dt><dd>{info.session_id}</dd>
<dt>开始时间</dt><dd>{_local(info.started_at, info.timezone)}（{e(info.timezone)}）</dd>
<dt>结束时间</dt><dd>{_local(info.ended_at, info.timezone)}</dd>
<dt>时长</dt><dd>{_clock(info.duration_ms)}</dd>
<dt>导出时间</dt><dd>{_local(info.exported_at, info.timezone)}</dd>
</dl>
{notice}
<h2>参加人员</h2><ul>{people}</ul>
<h2>录像轨道</h2>
<table><caption>原始分段文件位于 tracks/&lt;轨道编号&gt;/&lt;分段序号&gt;.webm|mp4</caption>
<thead><tr><th scope="col">轨道</th><th scope="col">人员</th><th scope="col">会场</th>
<th scope="col">类型</th><th scope="col">编码</th><th scope="col">时间</th>
<th scope="col">分段数</th><th scope="col">包含</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>文件</h2>
<ul>
<li><a href="manifest.json">manifest.json</a>：签名清单（第 {info.manifest_version} 版，SHA-256
<code>{e(info.manifest_sha256)}</code>）</li>
<li>manifest.sig：Ed25519 签名；签名机构 {e(info.signer)}，
公钥指纹 <code>{e(info.key_id)}</code></li>
<li>signer.pem：签名公钥</li>
<li>manifest.tsr：{stamp}</li>
<li><a href="audit.json">audit.json</a>：本录像的审计记录（查看、下载、导出，带哈希链）</li>
<li><a href="composite.mp4">composite.mp4</a>：合成画面（便于观看，不是原始证据）</li>
</ul>
<h2>如何校验</h2><ol>{steps}</ol>
</body></html>
"""


# ---------------------------------------------------------------- the job


def _append_and_digest(zip_path: Path, composite: Path | None) -> tuple[int, str]:
    if composite is not None and composite.exists():
        # MP4 does not shrink in a zip; stored, it can be played straight from the archive.
        with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_STORED) as archive:
            archive.write(composite, COMPOSITE)
    digest = hashlib.sha256()
    with zip_path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return zip_path.stat().st_size, digest.hexdigest()


async def _audit_json(db: AsyncSession, session_id: int) -> bytes:
    from server.audit.log import audit_extract

    entries = await audit_extract(db, session_id)
    return json.dumps(
        {"session_id": session_id, "entries": entries}, ensure_ascii=False, indent=1
    ).encode("utf-8")


async def build_export(job: JobContext) -> dict[str, Any]:
    """The export job: composite, package, store; progress all the way."""
    from recording.seal import export_sealed, seal_session

    export_id = int(job.params["export_id"])
    settings = job.settings
    store = open_store(settings)
    scratch = settings.data_dir / "tmp" / f"export-{export_id}"
    await asyncio.to_thread(shutil.rmtree, scratch, True)
    scratch.mkdir(parents=True)
    try:
        await job.progress(0.01, "export.step.preparing")
        async with job.sessionmaker() as db:
            export = await db.get(RecordingExport, export_id)
            if export is None:
                raise JobError("export.error.missing")
            session = await db.get(RecordingSession, export.session_id)
            assert session is not None
            rooms = set(
                await db.scalars(
                    select(RecordingTrack.sub_room).where(RecordingTrack.session_id == session.id)
                )
            )
            if not rooms:
                raise JobError("export.error.no_tracks")
            released = await released_sub_rooms(db, session.id)
            withheld = set() if export.sealed else rooms - {MAIN_ROOM} - released
            # Seal now (idempotent: the same manifest unless the record changed since).
            manifest = await seal_session(db, settings, session.id)
            await db.commit()
            info = await package_info(db, settings, session, export, withheld, manifest)
            audit_json = await _audit_json(db, session.id)
            plan = await plan_composite(db, settings, store, session, scratch / "media")

        composite: Path | None = scratch / COMPOSITE
        if plan.tiles or plan.audio:
            await job.progress(0.05, "export.step.rendering")
            stats = await job.run_in_thread(
                render_composite,
                plan,
                scratch / COMPOSITE,
                lambda fraction: job.report(0.05 + 0.8 * fraction, "export.step.rendering"),
            )
            logger.info(
                "export %s: composite of %.0f s rendered in %.1f s (%.1f× real time)",
                export_id,
                stats.media_s,
                stats.seconds,
                stats.speed,
            )
        else:
            composite = None

        await job.progress(0.86, "export.step.packaging")
        zip_path = scratch / "package.zip"
        extra = {
            INDEX_HTML: index_html(info).encode("utf-8"),
            README_TXT: readme_txt(info).encode("utf-8"),
            AUDIT: audit_json,
        }
        async with job.sessionmaker() as db:
            await export_sealed(
                db,
                settings,
                session.id,
                zip_path,
                store=store,
                withheld_sub_rooms=sorted(withheld),
                extra_files=extra,
            )
            await db.commit()
        size, sha256 = await asyncio.to_thread(_append_and_digest, zip_path, composite)

        await job.progress(0.95, "export.step.storing")
        async with job.sessionmaker() as db:
            row = await db.get(RecordingExport, export_id)
            assert row is not None
            key = package_key(row)
            await store.put(key, zip_path)
            row.package_key = key
            row.bytes = size
            row.sha256 = sha256
            row.manifest_version = manifest.version
            row.finished_at = utcnow()
            await db.commit()
        return {"export_id": export_id, "bytes": size, "sha256": sha256}
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def register_export_jobs(runner: JobRunner) -> None:
    """Register the export job kind with ``runner``."""
    runner.register(EXPORT_JOB, build_export)


async def exports_of(db: AsyncSession, session_id: int) -> Sequence[tuple[RecordingExport, Job]]:
    """A session's exports with their jobs, newest first."""
    rows = await db.execute(
        select(RecordingExport, Job)
        .join(Job, Job.id == RecordingExport.job_id)
        .where(RecordingExport.session_id == session_id)
        .order_by(RecordingExport.id.desc())
    )
    return [(row[0], row[1]) for row in rows]
