"""Global and per-object describe, in the shapes real orgs answer with.

Key sets follow the recorded describes in the fidelity corpus (``recorded/cumulusci``:
57 keys per field, the newer top-level keys such as ``associateEntityType``); the
per-type flags (aggregatable, groupable, soapType, byteLength...) follow what those
recordings show for each field type.
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.schema import FieldSchema, FieldType, OrgSchema, SObjectSchema

DEFAULT_API_VERSION = "59.0"
MASTER_RECORD_TYPE_ID = "012000000000000AAA"

_SOAP_TYPES = {
    FieldType.ID: "tns:ID",
    FieldType.REFERENCE: "tns:ID",
    FieldType.BOOLEAN: "xsd:boolean",
    FieldType.INT: "xsd:int",
    FieldType.DOUBLE: "xsd:double",
    FieldType.CURRENCY: "xsd:double",
    FieldType.PERCENT: "xsd:double",
    FieldType.DATE: "xsd:date",
    FieldType.DATETIME: "xsd:dateTime",
}
_NOT_GROUPABLE = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT,
                            FieldType.DATETIME, FieldType.MULTIPICKLIST})
_SYSTEM = frozenset({"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                     "LastModifiedById", "SystemModstamp"})
_LONG_TEXT = 255  # a textarea longer than this is a long text area: not filterable or sortable


def _picklist_json(field: FieldSchema) -> list[dict[str, Any]]:
    return [{"active": True, "defaultValue": entry.value == field.default or entry.default,
             "label": entry.label, "validFor": None, "value": entry.value}
            for entry in field.picklist_details]


def _byte_length(field: FieldSchema) -> int:
    if field.type in (FieldType.ID, FieldType.REFERENCE):
        return 18
    if field.type == FieldType.MULTIPICKLIST:
        return field.length
    return field.length * 3 if field.length else 0


def describe_field(field: FieldSchema) -> dict[str, Any]:
    """One entry of a describe's ``fields`` (all 57 keys, alphabetical like Salesforce)."""
    ftype = field.type
    long_text = ftype == FieldType.TEXTAREA and field.length > _LONG_TEXT
    system = field.name in _SYSTEM
    defaulted = (system or field.default is not None or field.auto_number is not None
                 or field.derived is not None or ftype == FieldType.BOOLEAN)
    writable = field.createable or field.updateable
    entry: dict[str, Any] = {
        "aggregatable": not (long_text or ftype in (FieldType.BOOLEAN, FieldType.MULTIPICKLIST)),
        "aiPredictionField": False,
        "autoNumber": field.auto_number is not None,
        "byteLength": _byte_length(field),
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": field.cascade_delete,
        "caseSensitive": field.case_sensitive,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": bool(field.default) if ftype == FieldType.BOOLEAN else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": defaulted,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": field.precision if ftype == FieldType.INT else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": field.external_id,
        "extraTypeInfo": "plaintextarea" if ftype == FieldType.TEXTAREA else None,
        "filterable": not long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": not (long_text or ftype in _NOT_GROUPABLE),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": field.identifies_records or (field.name_field and field.custom),
        "inlineHelpText": None,
        "label": field.label,
        "length": 18 if ftype in (FieldType.ID, FieldType.REFERENCE) else field.length,
        "mask": None,
        "maskType": None,
        "name": field.name,
        "nameField": field.name_field,
        "namePointing": field.polymorphic,
        "nillable": field.nillable,
        "permissionable": writable and field.nillable and not system,
        "picklistValues": _picklist_json(field),
        "polymorphicForeignKey": field.polymorphic,
        "precision": 0 if ftype == FieldType.INT else (
            field.precision if ftype in (FieldType.DOUBLE, FieldType.CURRENCY,
                                         FieldType.PERCENT) else 0),
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "relationshipOrder": 0 if field.cascade_delete and field.custom else None,
        "restrictedDelete": False,
        "restrictedPicklist": field.restricted_picklist,
        "scale": field.scale if ftype in (FieldType.DOUBLE, FieldType.CURRENCY,
                                          FieldType.PERCENT) else 0,
        "searchPrefilterable": False,
        "soapType": _SOAP_TYPES.get(ftype, "xsd:string"),
        "sortable": not (long_text or ftype == FieldType.MULTIPICKLIST),
        "type": ftype.value,
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": False,
    }
    return entry


def _object_urls(obj: SObjectSchema, *, api_version: str) -> dict[str, str]:
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def _summary(obj: SObjectSchema, *, api_version: str) -> dict[str, Any]:
    """The keys a global describe entry and a full describe share."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": True,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": not obj.custom,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": _object_urls(obj, api_version=api_version),
    }


def describe_global(schema: OrgSchema, *, api_version: str = DEFAULT_API_VERSION
                    ) -> dict[str, Any]:
    """``GET /sobjects``: encoding, batch size and one summary per object (by name)."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_summary(obj, api_version=api_version)
                     for obj in sorted(schema.objects.values(), key=lambda o: o.name)],
    }


def describe_sobject(obj: SObjectSchema, *, api_version: str,
                     instance_url: str = "") -> dict[str, Any]:
    """``GET /sobjects/{Type}/describe`` (``instance_url`` prefixes the ui* templates)."""
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    urls = _object_urls(obj, api_version=api_version)
    urls.update({
        "uiDetailTemplate": f"{instance_url}/{{ID}}",
        "uiEditTemplate": f"{instance_url}/{{ID}}/e",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "uiNewRecord": f"{instance_url}/{obj.key_prefix}/e",
    })
    if obj.name == "Case":  # Knowledge article suggestions, listed in every Case describe
        urls["caseArticleSuggestions"] = f"{base}/suggestedArticles"
        urls["caseRowArticleSuggestions"] = f"{base}/{{ID}}/suggestedArticles"
    owned = obj.field("OwnerId") is not None
    scopes = [{"label": f"All {obj.label_plural.lower()}", "name": "everything"}]
    if owned:
        scopes.append({"label": f"My {obj.label_plural.lower()}", "name": "mine"})
    body = _summary(obj, api_version=api_version)
    body.update({
        "actionOverrides": [],
        "childRelationships": [
            {"cascadeDelete": rel.cascade_delete, "childSObject": rel.child_object,
             "deprecatedAndHidden": False, "field": rel.field, "junctionIdListNames": [],
             "junctionReferenceTo": [], "relationshipName": rel.name, "restrictedDelete": False}
            for rel in sorted(obj.child_relationships.values(),
                              key=lambda r: (r.child_object, r.field))
        ],
        "compactLayoutable": True,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(f) for f in obj.fields.values()],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [{
            "active": True, "available": True, "defaultRecordTypeMapping": True,
            "developerName": "Master", "master": True, "name": "Master",
            "recordTypeId": MASTER_RECORD_TYPE_ID,
            "urls": {"layout": f"{base}/describe/layouts/{MASTER_RECORD_TYPE_ID}"},
        }],
        "searchLayoutable": True,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": scopes,
        "urls": urls,
    })
    return dict(sorted(body.items()))
