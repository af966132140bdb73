"""What a tenant's configuration adds to the fields documents: ticket categories (what each requires and fills in),
Work Types (`BillingCodes` of use type 1), ticket user-defined fields, and the API user's access per entity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import FieldError, Record, coerce, simple_document

ACCESS_LEVELS = ("All", "Mine", "Restricted", "None")
"""`userAccessFor…` values: "Mine" and "Restricted" see only what the API user itself made."""
OPERATIONS = ("create", "query", "update", "delete")
CAPABILITIES: dict[str, tuple[bool, bool, bool, bool, bool, bool]] = {
    # entity: canCreate, canUpdate, canDelete, canQuery, hasUserDefinedFields, supportsWebhookCallouts
    "Companies": (True, True, False, True, True, True),
    "Tickets": (True, True, False, True, True, True),
    "TicketNotes": (True, True, False, True, False, True),
    "TimeEntries": (True, True, True, True, False, False),
    "BillingCodes": (False, False, False, True, True, False),
    "TicketCategories": (False, True, False, True, True, False),
    "TicketCategoryFieldDefaults": (False, False, False, True, False, False),
}
WORK_TYPE = 1
"""The `useType` of the BillingCodes a ticket's `billingCodeID` (its Work Type) may name."""
SEED_BILLING_CODES = (
    # id, name, useType, active, description (use types other than 1 are examples: they are not work types)
    (29682801, "Remote Support", WORK_TYPE, True, "Work type: remote support"),
    (29682802, "Onsite Support", WORK_TYPE, True, "Work type: onsite support"),
    (29682803, "Backup Monitoring", WORK_TYPE, True, "Work type: backup checks and follow-up"),
    (29682804, "Legacy Helpdesk (retired)", WORK_TYPE, False, "Work type no longer used"),
    (29682810, "Hardware", 2, True, "Material code"),
    (29682820, "Travel Expenses", 4, True, "Expense code"),
    (29682821, "Mileage", 4, True, "Expense code: mileage"),
)
SEED_CATEGORIES = {1: ("STD", False), 2: ("AEM", False), 3: ("BC-API", True), 4: ("DATTO", False)}
"""Nickname and `isApiOnly` of the seeded `ticketCategory` values (the picklist itself is in tickets_fields.json)."""
DEFAULT_FIELDS = {
    # TicketCategoryFieldDefaults field: the Tickets field it fills
    "queueID": "queueID",
    "workTypeID": "billingCodeID",
    "priority": "priority",
    "issueTypeID": "issueType",
    "subIssueTypeID": "subIssueType",
    "sourceID": "source",
    "status": "status",
    "ticketTypeID": "ticketType",
    "title": "title",
    "description": "description",
    "estimatedHours": "estimatedHours",
    "purchaseOrderNumber": "purchaseOrderNumber",
    "resolution": "resolution",
    "serviceLevelAgreementID": "serviceLevelAgreementID",
    "organizationalLevelAssociationID": "organizationalLevelAssociationID",
}
FIELD_DEFAULTS_ID_BASE = 30_000_000
"""A category's TicketCategoryFieldDefaults record has id FIELD_DEFAULTS_ID_BASE + the category id."""

BILLING_CODES_FIELDS = simple_document(
    ("id", "long", True, True),
    ("name", "string", True, False),
    ("description", "string", False, False),
    ("useType", "integer", True, False),
    ("isActive", "boolean", True, False),
    ("billingCodeType", "integer", False, False),
    ("afterHoursWorkType", "integer", False, False),
    ("department", "integer", False, False),
    ("externalNumber", "string", False, False),
    ("generalLedgerAccount", "integer", False, False),
    ("isExcludedFromNewContracts", "boolean", False, False),
    ("markupRate", "decimal", False, False),
    ("taxCategoryID", "integer", False, False),
    ("unitCost", "decimal", False, False),
    ("unitPrice", "decimal", False, False),
)
TICKET_CATEGORIES_FIELDS = simple_document(
    ("id", "long", True, True),
    ("name", "string", True, False),
    ("nickname", "string", True, False),
    ("isActive", "boolean", True, False),
    ("isApiOnly", "boolean", True, False),
    ("isGlobalDefault", "boolean", True, False),
    ("displayColorRGB", "integer", False, False),
)
FIELD_DEFAULTS_FIELDS = simple_document(
    ("id", "long", True, True),
    ("ticketCategoryID", "integer", True, True),
    *(
        (name, "integer", False, False)
        for name in DEFAULT_FIELDS
        if name.endswith("ID") or name in ("priority", "status")
    ),
    ("title", "string", False, False),
    ("description", "string", False, False),
    ("estimatedHours", "decimal", False, False),
    ("purchaseOrderNumber", "string", False, False),
    ("resolution", "string", False, False),
)


def entity_information(entity: str, access: Mapping[str, str]) -> dict[str, Any]:
    """The body of `GET /V1.0/{Entity}/entityInformation`: what the entity supports, and the API user's access."""
    can_create, can_update, can_delete, can_query, udfs, webhooks = CAPABILITIES[entity]
    return {
        "info": {
            "name": entity,
            "canCreate": can_create,
            "canUpdate": can_update,
            "canDelete": can_delete,
            "canQuery": can_query,
            "hasUserDefinedFields": udfs,
            "userAccessForCreate": access["create"],
            "userAccessForQuery": access["query"],
            "userAccessForUpdate": access["update"],
            "userAccessForDelete": access["delete"],
            "supportsWebhookCallouts": webhooks,
        }
    }


def category_records(picklist: Record | None, extras: Mapping[int, Mapping[str, Any]]) -> list[Record]:
    """TicketCategories as the `ticketCategory` picklist holds them, with their nicknames and `isApiOnly`."""
    categories = []
    for pick in (picklist or {}).get("picklistValues") or []:
        extra = extras.get(int(pick["value"]), {})
        categories.append(
            {
                "id": int(pick["value"]),
                "name": pick["label"],
                "nickname": extra.get("nickname", pick["label"]),
                "isActive": pick["isActive"],
                "isApiOnly": extra.get("isApiOnly", False),
                "isGlobalDefault": pick["isDefaultValue"],
                "displayColorRGB": 0,
            }
        )
    return categories


def permission_refused(operation: str, entity: str) -> str:
    """Autotask's words when the API user's security level lacks a right (a 500, like the `forbidden` fault)."""
    return f"User does not have adequate permissions to {operation} {entity}."


@dataclass
class CategoryRules:
    """What one ticket category requires of a new ticket (invisible through the API) and fills in when omitted."""

    requires: frozenset[str] = frozenset()
    """Tickets fields a create must end up with (after the defaults)."""
    udfs_required: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)
    """Tickets field name: value, filled in when the create leaves the field out."""
    udf_defaults: dict[str, str] = field(default_factory=dict)


def udf_definition(
    name: str,
    *,
    label: str | None = None,
    data_type: str = "string",
    required: bool = False,
    default: str | None = None,
    choices: Mapping[str, str] | None = None,
    inactive_choices: Iterable[str] = (),
    length: int | None = None,
) -> Record:
    """One entry of `GET Tickets/entityInformation/userDefinedFields`; `choices` (value: label) makes a picklist."""
    inactive = {str(v) for v in inactive_choices}
    picks = [
        {
            "value": str(value),
            "label": text,
            "isDefaultValue": default is not None and str(value) == default,
            "sortOrder": n,
            "parentValue": "",
            "isActive": str(value) not in inactive,
            "isSystem": False,
        }
        for n, (value, text) in enumerate((choices or {}).items(), start=1)
    ]
    return {
        "name": name,
        "label": label or name,
        "dataType": data_type,
        "length": length if length is not None else (0 if choices or data_type != "string" else 8000),
        "description": "",
        "isRequired": required,
        "isReadOnly": False,
        "isQueryable": True,
        "isReference": False,
        "referenceEntityType": "",
        "isPickList": bool(choices),
        "picklistValues": picks,
        "picklistParentValueField": "",
        "defaultValue": default,
        "isSupportedWebhookField": False,
    }


SEED_UDFS = (
    udf_definition("Backup Reference", label="Backup reference", length=100),
    udf_definition(
        "Customer Tier",
        label="Customer tier",
        data_type="integer",
        choices={"1": "Gold", "2": "Silver", "3": "Bronze", "4": "Legacy"},
        inactive_choices=["4"],
    ),
)


class TicketUdfs:
    """The tenant's ticket user-defined fields and the checks Autotask makes of `userDefinedFields` on a ticket."""

    def __init__(self, definitions: Iterable[Record]) -> None:
        self.fields: list[Record] = [dict(d) for d in definitions]

    def answer(self) -> dict[str, Any]:
        return {"fields": self.fields}

    def find(self, name: str) -> Record | None:
        return next((u for u in self.fields if u["name"].lower() == str(name).lower()), None)

    def spec(self, name: str) -> Record:
        found = self.find(name)
        if found is None:
            raise KeyError(f"Tickets has no user-defined field {name!r}")
        return found

    def add(self, definition: Record) -> None:
        self.fields = [u for u in self.fields if u["name"].lower() != definition["name"].lower()] + [definition]

    def remove(self, name: str) -> None:
        self.fields.remove(self.spec(name))

    def parse(self, body: Record) -> tuple[dict[str, str | None], list[str]]:
        """The UDF values a body sends (by the tenant's names), and what is wrong with them."""
        raw = next((v for k, v in body.items() if str(k).lower() == "userdefinedfields"), None)
        if raw is None:
            return {}, []
        if not isinstance(raw, list):
            return {}, ["Unable to convert field 'userDefinedFields': a list of {name, value} objects is expected."]
        given: dict[str, str | None] = {}
        errors: list[str] = []
        for item in raw:
            item = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
            if not isinstance(item.get("name"), str):
                errors.append("A user-defined field needs a name.")
                continue
            spec = self.find(item["name"])
            if spec is None:
                errors.append(f"Unable to find user-defined field '{item['name']}' in the Tickets entity.")
                continue
            try:
                given[spec["name"]] = self._value(spec, item.get("value"))
            except FieldError as exc:
                errors.append(str(exc))
        return given, errors

    def _value(self, spec: Record, value: Any) -> str | None:
        name = spec["name"]
        if value is None or value == "":
            return None
        if spec["isPickList"]:
            pick = next((p for p in spec["picklistValues"] if p["value"] == str(value)), None)
            if pick is None:
                raise FieldError(f"Invalid picklist value '{value}' for user-defined field '{name}'.")
            if not pick["isActive"]:
                raise FieldError(
                    f"Picklist value '{value}' ({pick['label']}) for user-defined field '{name}' is inactive."
                )
            return str(pick["value"])
        try:
            stored = coerce({"name": name, "dataType": spec["dataType"]}, value)
        except FieldError:
            raise FieldError(
                f"Unable to convert value '{value}' of user-defined field '{name}' to type {spec['dataType']}."
            ) from None
        text = str(stored).lower() if isinstance(stored, bool) else str(stored)
        if spec.get("length") and len(text) > spec["length"]:
            raise FieldError(
                f"Value for user-defined field '{name}' exceeds the maximum length of {spec['length']} characters "
                f"({len(text)} given)."
            )
        return text

    def filled(self, given: Mapping[str, str | None], rules: CategoryRules | None) -> dict[str, str | None]:
        """A new ticket's values: those sent, else the category's default, else the field's own default."""
        category = {k.lower(): v for k, v in (rules.udf_defaults if rules else {}).items()}
        values: dict[str, str | None] = {}
        for spec in self.fields:
            value = given.get(spec["name"])
            values[spec["name"]] = (
                value if value is not None else category.get(spec["name"].lower(), spec["defaultValue"])
            )
        return values

    def missing(
        self, values: Mapping[str, str | None], also: Iterable[str] = (), among: Iterable[str] | None = None
    ) -> list[str]:
        """Required UDFs (the tenant's, and `also` those a category requires) without a value; `among`: only these
        (an update checks the UDFs it sends)."""
        wanted = [u["name"] for u in self.fields if u["isRequired"]]
        wanted += [n for n in (self.spec(a)["name"] for a in sorted(also)) if n not in wanted]
        if among is not None:
            wanted = [n for n in wanted if n in set(among)]
        return [
            f"User-defined field '{name}' is required.; on record number [0]."
            for name in wanted
            if values.get(name) in (None, "")
        ]

    def render(self, values: Mapping[str, str | None]) -> list[dict[str, Any]]:
        """`userDefinedFields` as a ticket is read: every UDF of the tenant, null when unset."""
        return [{"name": u["name"], "value": values.get(u["name"])} for u in self.fields]


def billing_code(code_id: int, name: str, use_type: int, active: bool, description: str | None) -> Record:
    return {
        "id": code_id,
        "name": name,
        "description": description,
        "useType": use_type,
        "isActive": active,
        "billingCodeType": 0,
        "afterHoursWorkType": None,
        "department": None,
        "externalNumber": None,
        "generalLedgerAccount": None,
        "isExcludedFromNewContracts": False,
        "markupRate": None,
        "taxCategoryID": None,
        "unitCost": None,
        "unitPrice": None,
    }


def work_type_errors(value: int, codes: Mapping[int, Record]) -> list[str]:
    """Why a ticket's `billingCodeID` is refused: it must be an active BillingCode of use type 1 (a Work Type)."""
    code = codes.get(value)
    if code is None:
        return [f"Value '{value}' for field 'billingCodeID' does not reference an existing BillingCode."]
    if code["useType"] != WORK_TYPE:
        return [
            f"Value '{value}' for field 'billingCodeID' is not a Work Type: BillingCode {value} ({code['name']}) "
            f"has useType {code['useType']}, a ticket needs useType {WORK_TYPE}."
        ]
    if not code["isActive"]:
        return [f"Value '{value}' for field 'billingCodeID' references an inactive Work Type ({code['name']})."]
    return []


def ticket_field_name(name: str, ticket_fields: Iterable[str]) -> str:
    """The Tickets field a category default or requirement names: a Tickets field (any casing) or a
    TicketCategoryFieldDefaults one (`workTypeID` is `billingCodeID`, `issueTypeID` is `issueType`, …)."""
    low = {f.lower(): f for f in ticket_fields}
    mapped = {k.lower(): v for k, v in DEFAULT_FIELDS.items()}.get(name.lower(), name)
    if mapped.lower() not in low:
        raise KeyError(f"Tickets has no field {name!r}")
    return low[mapped.lower()]


def field_defaults_record(category_id: int, rules: CategoryRules | None, udfs: TicketUdfs) -> Record:
    """The category's TicketCategoryFieldDefaults record: null where the category gives no default."""
    defaults = rules.defaults if rules else {}
    udf_defaults = {k.lower(): v for k, v in (rules.udf_defaults if rules else {}).items()}
    record: Record = {"id": FIELD_DEFAULTS_ID_BASE + category_id, "ticketCategoryID": category_id}
    record.update({name: defaults.get(ticket) for name, ticket in DEFAULT_FIELDS.items()})
    record["userDefinedFields"] = [
        {"name": u["name"], "value": udf_defaults.get(u["name"].lower())} for u in udfs.fields
    ]
    return record
