"""The analytics concepts' fields as data, until the mapping files map them.

Exactly the API names and sizes of issue 17 (the objects sfrenew writes metric rows
and forecast snapshots to, and the new renewal-opportunity figures). Each field names
the concept field it holds, as ``custom_fields_needed`` does for mapped fields.
"""

from __future__ import annotations

from sfrenew.mapping._metadata_model import CustomFieldSpec

METRIC_OBJECT = "Sfrenew_Renewal_Metric__c"
SNAPSHOT_OBJECT = "Sfrenew_Forecast_Snapshot__c"


def _f(obj: str, concept: str, field: str, name: str, kind: str, *,
       length: int | None = None, digits: tuple[int, int] | None = None,
       key: bool = False) -> CustomFieldSpec:
    precision, scale = digits or (None, None)
    return CustomFieldSpec(object=obj, name=name, type=kind, label=name[:-3].replace("_", " "),
                           description=f"sfrenew {concept}.{field}", writable=True,
                           length=length, precision=precision, scale=scale, external_id=key,
                           concept="" if key else concept, concept_field="" if key else field)


def _metric(field: str, name: str, kind: str, **kw: object) -> CustomFieldSpec:
    return _f(METRIC_OBJECT, "renewal_metric", field, name, kind, **kw)  # type: ignore[arg-type]


def _snapshot(field: str, name: str, kind: str, **kw: object) -> CustomFieldSpec:
    return _f(SNAPSHOT_OBJECT, "forecast_snapshot", field, name, kind,
              **kw)  # type: ignore[arg-type]


ANALYTICS_FIELDS: tuple[CustomFieldSpec, ...] = (
    _metric("key", "Sfrenew_Key__c", "Text", length=255, key=True),
    _metric("metric", "Metric__c", "Text", length=255),
    _metric("period", "Period__c", "Text", length=255),
    _metric("period_start", "Period_Start__c", "Date"),
    _metric("dimension", "Dimension__c", "Text", length=255),
    _metric("dimension_value", "Dimension_Value__c", "Text", length=255),
    _metric("currency", "Currency__c", "Text", length=3),
    _metric("value", "Value__c", "Number", digits=(18, 4)),
    _metric("numerator", "Numerator__c", "Number", digits=(18, 2)),
    _metric("denominator", "Denominator__c", "Number", digits=(18, 2)),
    _metric("computed_on", "Computed_On__c", "Date"),
    _metric("run_id", "Sfrenew_Run_Id__c", "Text", length=255),
    _snapshot("key", "Sfrenew_Key__c", "Text", length=255, key=True),
    _snapshot("snapshot_date", "Snapshot_Date__c", "Date"),
    _snapshot("period", "Period__c", "Text", length=255),
    _snapshot("period_start", "Period_Start__c", "Date"),
    _snapshot("category", "Category__c", "Text", length=255),
    _snapshot("amount", "Amount__c", "Number", digits=(18, 2)),
    _snapshot("renewal_count", "Renewal_Count__c", "Number", digits=(9, 0)),
    _snapshot("currency", "Currency__c", "Text", length=3),
    _snapshot("weeks_out", "Weeks_Out__c", "Number", digits=(4, 0)),
    _snapshot("actual_amount", "Actual_Amount__c", "Number", digits=(18, 2)),
    _snapshot("accuracy", "Accuracy__c", "Percent", digits=(7, 4)),
    _snapshot("run_id", "Sfrenew_Run_Id__c", "Text", length=255),
    _f("Opportunity", "renewal_opportunity", "expansion_arr", "Sfrenew_Expansion_ARR__c",
       "Currency", digits=(18, 2)),
    _f("Opportunity", "renewal_opportunity", "contraction_arr", "Sfrenew_Contraction_ARR__c",
       "Currency", digits=(18, 2)),
    _f("Opportunity", "renewal_opportunity", "outcome", "Sfrenew_Outcome__c", "Text",
       length=255),
)
