"""A small org (users, accounts, contacts, opportunities) in an in-memory SQLite DB,
stored with the local org's storage convention (see ``sfrenew.localorg.schema``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import make_id
from sfrenew.localorg.schema import OrgSchema, build_schema
from sfrenew.localorg.soql import QueryEngine

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)  # a Wednesday in Q2
API = "59.0"

SCHEMA_DATA: dict[str, Any] = {"objects": {
    "User": {"key_prefix": "005", "fields": {
        "Name": {"type": "string", "length": 121},
        "IsActive": {"type": "boolean", "default": True},
    }},
    "Account": {"key_prefix": "001", "owned": True, "fields": {
        "Name": {"type": "string", "length": 255, "required": True},
        "Industry": {"type": "picklist", "values": ["Tech", "Retail", "Banking"]},
        "AnnualRevenue": {"type": "currency"},
        "NumberOfEmployees": {"type": "int"},
        "IsKey__c": {"type": "boolean"},
        "Regions__c": {"type": "multipicklist", "values": ["EMEA", "AMER", "APAC"]},
        "ParentId": {"type": "reference", "reference_to": ["Account"],
                     "relationship_name": "Parent", "child_relationship": "ChildAccounts"},
    }},
    "Contact": {"key_prefix": "003", "owned": True, "fields": {
        "LastName": {"type": "string", "length": 80, "required": True},
        "Email": {"type": "email"},
        "Birthdate": {"type": "date"},
        "AccountId": {"type": "reference", "reference_to": ["Account"],
                      "relationship_name": "Account", "child_relationship": "Contacts"},
    }},
    "Opportunity": {"key_prefix": "006", "owned": True, "fields": {
        "Name": {"type": "string"},
        "Amount": {"type": "currency"},
        "CloseDate": {"type": "date"},
        "StageName": {"type": "picklist", "values": ["Prospecting", "Negotiation", "Closed Won"]},
        "AccountId": {"type": "reference", "reference_to": ["Account"],
                      "relationship_name": "Account", "child_relationship": "Opportunities"},
    }},
    "Task": {"key_prefix": "00T", "owned": True, "fields": {
        "Subject": {"type": "string"},
        "WhatId": {"type": "reference", "reference_to": ["Account", "Opportunity"],
                   "relationship_name": "What", "child_relationship": "Tasks"},
    }},
}}

_SQL_TYPES = {"boolean": "INTEGER", "int": "INTEGER", "double": "REAL", "currency": "REAL",
              "percent": "REAL"}


def create_tables(conn: sqlite3.Connection, schema: OrgSchema) -> None:
    """One table per object, one column per field (the store's convention)."""
    for obj in schema.objects.values():
        cols = ", ".join(f'"{f.name}" {_SQL_TYPES.get(f.type.value, "TEXT")}'
                         for f in obj.fields.values())
        conn.execute(f'CREATE TABLE "{obj.name}" ({cols})')


def insert(conn: sqlite3.Connection, table: str, **values: Any) -> None:
    """Insert one row, defaulting IsDeleted to 0."""
    values.setdefault("IsDeleted", 0)
    cols = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(values.values()))


U1, U2 = make_id("005", 1), make_id("005", 2)
A1, A2, A3, A4 = (make_id("001", n) for n in range(1, 5))
C1, C2, C3 = (make_id("003", n) for n in range(1, 4))
O1, O2, O3, O4 = (make_id("006", n) for n in range(1, 5))
T1, T2, T3 = (make_id("00T", n) for n in range(1, 4))


@pytest.fixture(scope="module")
def schema() -> OrgSchema:
    return build_schema(SCHEMA_DATA)


@pytest.fixture(scope="module")
def conn(schema: OrgSchema) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    create_tables(db, schema)
    insert(db, "User", Id=U1, Name="Ann Admin", IsActive=1)
    insert(db, "User", Id=U2, Name="Bob Rep", IsActive=0)
    insert(db, "Account", Id=A1, Name="Acme", OwnerId=U1, Industry="Tech", AnnualRevenue=1000.5,
           NumberOfEmployees=50, IsKey__c=1, Regions__c="EMEA;AMER",
           CreatedDate="2024-05-15T09:00:00.000+0000")
    insert(db, "Account", Id=A2, Name="beta corp", OwnerId=U2, Industry="Retail",
           AnnualRevenue=200.0, NumberOfEmployees=5, IsKey__c=0, Regions__c="APAC",
           ParentId=A1, CreatedDate="2024-05-14T23:59:59.999+0000")
    insert(db, "Account", Id=A3, Name="Gamma 50% off_sale", OwnerId=U1, Industry=None,
           AnnualRevenue=None, NumberOfEmployees=None, IsKey__c=0, Regions__c=None,
           CreatedDate="2024-01-02T00:00:00.000+0000")
    insert(db, "Account", Id=A4, Name="Deleted Inc", OwnerId=U1, Industry="Banking", IsKey__c=0,
           IsDeleted=1, CreatedDate="2024-01-01T00:00:00.000+0000")
    insert(db, "Contact", Id=C1, LastName="O'Brien", Email="ob@acme.test", AccountId=A1,
           Birthdate="1980-05-15", OwnerId=U1)
    insert(db, "Contact", Id=C2, LastName="Smith", Email=None, AccountId=A1,
           Birthdate="1990-01-01", OwnerId=U1)
    insert(db, "Contact", Id=C3, LastName="Lone", Email="lone@x.test", AccountId=None,
           Birthdate=None, OwnerId=U2)
    insert(db, "Opportunity", Id=O1, Name="Acme renewal", Amount=500.0, CloseDate="2024-05-15",
           StageName="Negotiation", AccountId=A1, OwnerId=U1)
    insert(db, "Opportunity", Id=O2, Name="Acme upsell", Amount=250.0, CloseDate="2024-06-30",
           StageName="Prospecting", AccountId=A1, OwnerId=U2)
    insert(db, "Opportunity", Id=O3, Name="Beta new", Amount=None, CloseDate="2024-03-31",
           StageName="Closed Won", AccountId=A2, OwnerId=U2)
    insert(db, "Opportunity", Id=O4, Name="Old", Amount=100.0, CloseDate="2023-12-31",
           StageName="Closed Won", AccountId=A3, OwnerId=U1)
    insert(db, "Task", Id=T1, Subject="Call", WhatId=A1, OwnerId=U1)
    insert(db, "Task", Id=T2, Subject="Quote", WhatId=O2, OwnerId=U2)
    insert(db, "Task", Id=T3, Subject="Note", WhatId=None, OwnerId=U2)
    yield db
    db.close()


@pytest.fixture(scope="module")
def engine(schema: OrgSchema) -> QueryEngine:
    return QueryEngine(schema)


def run(engine: QueryEngine, conn: sqlite3.Connection, soql: str, *,
        include_deleted: bool = False) -> list[dict[str, Any]]:
    """Prepare and execute, returning the records."""
    prepared = engine.prepare(soql, include_deleted=include_deleted, now=NOW, api_version=API)
    return list(prepared.records(conn))


def error_of(engine: QueryEngine, soql: str, *, bulk: bool = False) -> SalesforceApiError:
    """The SalesforceApiError preparing ``soql`` raises."""
    with pytest.raises(SalesforceApiError) as info:
        engine.prepare(soql, include_deleted=False, now=NOW, api_version=API, bulk=bulk)
    return info.value
