"""Load stage helper: CSL-JSON files (``.json``, Zotero's and Better BibTeX's export) into records.

The file already holds CSL-JSON records: they are kept whole, checked (an id, a known type,
names as lists) and normalised only where exporters differ (a date or a name given as a string,
``citation-key`` as the key, a Zotero item URI as the id).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from press.content import record
from press.errors import Problem


def read(path: Path, text: str, problems: list[Problem]) -> list[record.Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                "check for a missing comma, quote or bracket near here"))
        return []
    except RecursionError:
        problems.append(Problem(path, None, "JSON is nested too deeply", "export it again"))
        return []
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        problems.append(Problem(path, 1, "CSL-JSON must be a list of references",
                                "export it again: in Zotero, Export Library, format CSL JSON"))
        return []
    records: list[record.Record] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(Problem(path, None, f"item {i + 1} is not an object",
                                    "each reference is {\"id\": ..., \"type\": ..., ...}",
                                    "warning"))
            continue
        key = _s(item.get("citation-key") or item.get("id"))
        # json gives no positions for values: the entry's line is that of its key
        found = key and re.search(r'"(?:citation-key|id)"\s*:\s*"?' + re.escape(key)
                                  + r'"?[\s,}]', text)
        line = text[: found.start()].count("\n") + 1 if found else 0
        if not key:
            problems.append(Problem(path, None, f"item {i + 1} has no 'id'",
                                    "Better BibTeX adds 'citation-key'; otherwise add an id",
                                    "warning"))
            continue
        records.append(normalise(item, key, path, line, problems))
    return records


def normalise(item: dict[str, Any], key: str, path: Path, line: int, problems: list[Problem]
              ) -> record.Record:
    """One CSL-JSON item, checked: every variable kept, names and dates in CSL's shapes."""
    rec = {k: v for k, v in item.items() if k != "citation-key" and v not in (None, "", [])}
    rec["id"], rec["_line"] = key, line
    kind = _s(item.get("type"))
    if kind not in record.TYPES:
        rec["type"] = record.unknown_type(path, line, key, kind, problems)
    for var in record.NAME_VARIABLES:
        if var in rec:
            rec[var] = _names(rec[var], path, line, problems)
            if not rec[var]:
                del rec[var]
    for var in record.DATE_VARIABLES:
        value = rec.get(var)
        if isinstance(value, (str, int)):
            rec[var] = record.date(str(value)) or {"literal": str(value)}
        elif isinstance(value, dict) and not value.get("date-parts") and value.get("raw"):
            rec[var] = record.date(str(value["raw"])) or {"literal": str(value["raw"])}
        elif value is not None and not isinstance(value, dict):
            problems.append(Problem(path, line, f"'{key}': '{var}' is not a date",
                                    "use {\"date-parts\": [[2009, 3, 15]]} or \"2009-03-15\"",
                                    "warning"))
            del rec[var]
    for var, value in list(rec.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rec[var] = str(value)  # CSL numbers ("volume": 3) are printed as text
    if "DOI" in rec:
        rec["DOI"] = record.doi(rec["DOI"])
    return rec


def _s(value: object) -> str:
    if value in (None, "") or isinstance(value, (dict, list)):
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


def _names(value: object, path: Path, line: int, problems: list[Problem]
           ) -> list[record.CslName]:
    if not isinstance(value, list):
        problems.append(Problem(path, line, "names must be a list of {\"family\": ..., "
                                f"\"given\": ...}}, not {type(value).__name__}",
                                severity="warning"))
        return []
    out: list[record.CslName] = []
    for item in value:
        if isinstance(item, str):
            out.append(record.name(item))
        elif isinstance(item, dict) and (item.get("family") or item.get("literal")):
            out.append({k: _s(v) for k, v in item.items() if _s(v)})
        else:
            problems.append(Problem(path, line, f"a name has no family name: {item}",
                                    "give 'family', or 'literal' for an organisation",
                                    "warning"))
    return out
