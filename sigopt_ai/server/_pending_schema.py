"""TEMPORARY (SERVER-CORE): the server tables of design decision 2 until MIGRATIONS commits them in
``backends/sql/_schema.py``; this module is deleted then."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Table, Text

from sigopt_ai.backends.sql import _schema as t

if not hasattr(t, "clients"):
    t.clients = Table(
        "clients",
        t.metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(200), nullable=False, unique=True),
        Column("created", Float, nullable=False),
    )
    t.tokens = Table(
        "tokens",
        t.metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
        Column("created", Float, nullable=False),
        Column("revoked", Float),
    )
if "name" not in t.projects.c:
    t.projects.append_column(Column("name", String(200)))
    t.projects.append_column(Column("metadata", Text))
