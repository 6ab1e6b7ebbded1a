"""The tables of an encrypted store (typed SQLAlchemy 2 ORM).

NDTMS values are kept as the worker entered them, in the ``validate`` JSON shape (one
JSON object per client, episode, referral or intervention), so that a half-typed date or
an unknown code is never lost. The columns beside them are derived on every save and
exist only so that the caseload list can sort and filter without decoding every row.

Technical ids (CLIENTID, EPISODID, REFERID, MODID) are random, generated on the laptop
and never reused, so stores from several laptops can be merged.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from desktop.domain.datasets import PROFILES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """Store-wide settings: agency code and type, DAT, store id, schema notes."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A worker or manager. Password wraps live beside the store, not here."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    __table_args__ = (CheckConstraint("role IN ('worker', 'manager')", name="role"),)


class Client(Base):
    """A person, across episodes. ``name`` and ``notes`` never leave the laptop."""

    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    fields: Mapped[str] = mapped_column(Text, default="{}")
    client_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    finitial: Mapped[str | None] = mapped_column(String(8))
    sinitial: Mapped[str | None] = mapped_column(String(8))
    dob: Mapped[date | None] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    episodes: Mapped[list[Episode]] = relationship(back_populates="client")

    __table_args__ = (Index("ix_clients_attributors", "finitial", "sinitial", "dob", "sex"),)


class Episode(Base):
    """One CJIT (dataset Q) or secure-setting (dataset R) episode."""

    __tablename__ = "episodes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"))
    dataset: Mapped[str] = mapped_column(String(16))
    fields: Mapped[str] = mapped_column(Text, default="{}")
    notes: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    opened_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    consent: Mapped[str | None] = mapped_column(String(8))
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    last_contact: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    client: Mapped[Client] = relationship(back_populates="episodes")

    __table_args__ = (
        CheckConstraint("dataset IN ('cjit-q', 'secure-r')", name="dataset"),
        Index("ix_episodes_client", "client_id"),
        Index("ix_episodes_owner_open", "owner_id", "closed_on"),
        Index("ix_episodes_state", "state", "updated_at"),
    )


class ItemRow(Base):
    """A repeating entry of an episode: its fields as entered, in the order shown."""

    __abstract__ = True
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    fields: Mapped[str] = mapped_column(Text, default="{}")


class Referral(ItemRow):
    """A CJIT referral to structured treatment (dataset Q, REFERID/REFDATE)."""

    __tablename__ = "referrals"


class Intervention(ItemRow):
    """A secure-setting intervention (dataset R, MODID/MODAL/MODST/MODEND)."""

    __tablename__ = "interventions"


class ConsentEvent(Base):
    """A dated consent decision: NDTMS consent, or continuity-of-care sharing (DIR, seed 004)."""

    __tablename__ = "consent_events"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[str | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(16))
    agencies: Mapped[str | None] = mapped_column(Text)
    recorded_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('ndtms', 'sharing')", name="kind"),
        CheckConstraint("value IN ('given', 'refused', 'withdrawn')", name="value"),
    )


class Draft(Base):
    """A half-filled sheet kept at lock time; only its own user gets it back."""

    __tablename__ = "drafts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    episode_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "episode_id", name="uq_drafts_user_episode"),)


class AuditEvent(Base):
    """Who changed what, chained by SHA-256 so a removed or altered event is found."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(32), index=True)
    changes: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ExportBatch(Base):
    """A submission file written for NDTMS: which episodes, when, by whom."""

    __tablename__ = "export_batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    episode_ids: Mapped[str] = mapped_column(Text, default="[]")
    episodes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held_back: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    header: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")


class ExportedValue(Base):
    """What NDTMS last received for an episode: its rows exactly as written to the file.

    The columns are those of the export named by ``batch_id`` (its ``header``). The
    pre-upload check compares the fields whose definitions say they do not change with
    the episode now, to warn of a validation mismatch before the portal does.
    """

    __tablename__ = "exported_values"
    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str] = mapped_column(ForeignKey("export_batches.id"))
    exported_at: Mapped[datetime] = mapped_column(DateTime)
    fields: Mapped[str] = mapped_column(Text)


class TransferBundle(Base):
    """A sealed bundle this store wrote or imported: team changes or a client's handover.

    For a bundle sent, ``peer_key`` is the recipient's key fingerprint and ``audit_seq`` the
    newest audit event it carried (the next team bundle to that key starts after it). For
    a bundle received, ``peer_key`` is the sender's key fingerprint, pinned at the first
    import from that store.
    """

    __tablename__ = "transfer_bundles"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    peer_store: Mapped[str] = mapped_column(String(32))
    peer_agency: Mapped[str] = mapped_column(String(16))
    peer_key: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(default=False)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_hash: Mapped[str | None] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(DateTime)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(String(32))
    counts: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (
        CheckConstraint("direction IN ('sent', 'received')", name="direction"),
        CheckConstraint("kind IN ('team', 'handover')", name="kind"),
        Index("ix_transfer_bundles_peer", "direction", "peer_key", "sequence"),
    )


class MergeStamp(Base):
    """When, by whom and on which store each merged field of a record last changed."""

    __tablename__ = "merge_stamps"
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stamps: Mapped[str] = mapped_column(Text, default="{}")


class MergeConflict(Base):
    """A field two laptops changed differently: both values, who and when, for a manager."""

    __tablename__ = "merge_conflicts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    episode_id: Mapped[str | None] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64))
    local_value: Mapped[str] = mapped_column(Text)
    local_at: Mapped[datetime | None] = mapped_column(DateTime)
    local_user: Mapped[str | None] = mapped_column(String(32))
    local_store: Mapped[str | None] = mapped_column(String(32))
    incoming_value: Mapped[str] = mapped_column(Text)
    incoming_at: Mapped[datetime | None] = mapped_column(DateTime)
    incoming_user: Mapped[str | None] = mapped_column(String(32))
    incoming_store: Mapped[str | None] = mapped_column(String(32))
    applied: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        CheckConstraint("applied IN ('local', 'incoming')", name="applied"),
        CheckConstraint("status IN ('open', 'local', 'incoming', 'superseded')", name="status"),
    )


class SourceAuditEvent(Base):
    """An audit event of another store, copied from its bundles with its hash unchanged.

    Kept per source store, so that each laptop's chain can still be walked and verified
    from its own first event.
    """

    __tablename__ = "source_audit_events"
    source_store: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(32))
    changes: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Handover(Base):
    """A continuity-of-care handover sent or received (DIR consent, seed 004).

    For a handover received, ``sheet`` keeps the sending team's sheet, consent and
    episode history as they arrived: a read-only note beside the new episode.
    """

    __tablename__ = "handovers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    client_id: Mapped[str] = mapped_column(String(32), index=True)
    episode_id: Mapped[str | None] = mapped_column(String(32))
    source_client_id: Mapped[str] = mapped_column(String(32))
    peer_agency: Mapped[str] = mapped_column(String(16))
    peer_kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(String(32))
    sheet: Mapped[str | None] = mapped_column(Text)
    mapped: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (CheckConstraint("direction IN ('sent', 'received')", name="direction"),)


_ITEM_ROWS: dict[str, type[ItemRow]] = {"referrals": Referral, "interventions": Intervention}
# Each dataset's table of items, as its profile names it (desktop/domain/datasets.py).
ITEM_TABLES: dict[str, type[ItemRow]] = {
    p.id: _ITEM_ROWS[p.item_table] for p in PROFILES.values()
}
