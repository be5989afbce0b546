"""The standard fields generated from the recorded describes are in the schema, as generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.schema_fields import field_spec, recorded_describe, standard_fields

CORPUS = (Path(__file__).resolve().parents[3].parent / "shared" / "salesforce-corpus"
          / "recorded" / "cumulusci")
DESCRIBE = "cumulusci__tests__shared_cassettes__GET_sobjects_{}_describe.json"


@pytest.mark.parametrize("sobject", ["Account", "Contact", "Case"])
def test_schema_has_every_generated_standard_field(sobject: str) -> None:
    path = CORPUS / DESCRIBE.format(sobject)
    if not path.exists():
        pytest.skip(f"the fidelity corpus is not beside the repository ({path})")
    schema = default_schema()

    missing = standard_fields(recorded_describe(path), schema=schema)
    generated = standard_fields(recorded_describe(path), schema=schema, missing_only=False)

    assert missing == {}
    obj = schema.object(sobject)
    assert obj is not None
    for name in {"Account": ("ShippingCity", "Fax", "Rating", "AccountSource"),
                 "Contact": ("MailingCity", "MobilePhone", "LeadSource", "Birthdate"),
                 "Case": ("SuppliedEmail", "Reason", "Comments")}[sobject]:
        field = obj.field(name)
        assert field is not None
        assert field.label == generated[name]["label"]
        assert field.type.value == generated[name]["type"]


@pytest.mark.parametrize(("field", "spec"), [
    ({"name": "Fax", "type": "phone", "length": 40, "createable": True, "updateable": True,
      "label": "Account Fax"},
     {"type": "phone", "length": 40, "label": "Account Fax"}),
    ({"name": "ShippingLatitude", "type": "double", "precision": 18, "scale": 15,
      "createable": True, "updateable": True, "label": "Shipping Latitude"},
     {"type": "double", "precision": 18, "scale": 15, "label": "Shipping Latitude"}),
    ({"name": "Rating", "type": "picklist", "length": 40, "createable": True,
      "updateable": True, "label": "Account Rating",
      "picklistValues": [{"value": "Hot"}, {"value": "Cold"}]},
     {"type": "picklist", "length": 40, "values": ["Hot", "Cold"], "label": "Account Rating"}),
    ({"name": "PhotoUrl", "type": "url", "length": 255, "createable": False,
      "updateable": False, "label": "Photo URL"},
     {"type": "url", "length": 255, "createable": False, "updateable": False,
      "label": "Photo URL"}),
])
def test_field_spec(field: dict[str, object], spec: dict[str, object]) -> None:
    assert field_spec(field) == spec
