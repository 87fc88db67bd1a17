"""Indian addresses as stores keep them, made into what Qikink accepts.

Medusa stores whatever the storefront sent: a state code (`KA`, `IN-KA`) where Qikink wants the
state's name (`Karnataka`), a phone as `+91 98000 00000` where Qikink wants ten digits.
"""

from __future__ import annotations

import re

from services.shared.errors import InvalidInput

__all__ = ["STATES", "normalise_phone", "state_name"]

# ISO 3166-2:IN codes (the current ones and those they replaced) -> the state's name.
STATES: dict[str, str] = {
    "AN": "Andaman and Nicobar Islands",
    "AP": "Andhra Pradesh",
    "AR": "Arunachal Pradesh",
    "AS": "Assam",
    "BR": "Bihar",
    "CH": "Chandigarh",
    "CG": "Chhattisgarh",
    "CT": "Chhattisgarh",
    "DH": "Dadra and Nagar Haveli and Daman and Diu",
    "DN": "Dadra and Nagar Haveli and Daman and Diu",
    "DD": "Dadra and Nagar Haveli and Daman and Diu",
    "DL": "Delhi",
    "GA": "Goa",
    "GJ": "Gujarat",
    "HR": "Haryana",
    "HP": "Himachal Pradesh",
    "JK": "Jammu and Kashmir",
    "JH": "Jharkhand",
    "KA": "Karnataka",
    "KL": "Kerala",
    "LA": "Ladakh",
    "LD": "Lakshadweep",
    "MP": "Madhya Pradesh",
    "MH": "Maharashtra",
    "MN": "Manipur",
    "ML": "Meghalaya",
    "MZ": "Mizoram",
    "NL": "Nagaland",
    "OD": "Odisha",
    "OR": "Odisha",
    "PY": "Puducherry",
    "PB": "Punjab",
    "RJ": "Rajasthan",
    "SK": "Sikkim",
    "TN": "Tamil Nadu",
    "TS": "Telangana",
    "TG": "Telangana",
    "TR": "Tripura",
    "UP": "Uttar Pradesh",
    "UK": "Uttarakhand",
    "UT": "Uttarakhand",
    "WB": "West Bengal",
}

# Other spellings people type for the same states.
_ALIASES: dict[str, str] = {
    "orissa": "Odisha",
    "pondicherry": "Puducherry",
    "uttaranchal": "Uttarakhand",
    "new delhi": "Delhi",
    "nct of delhi": "Delhi",
    "national capital territory of delhi": "Delhi",
    "jammu & kashmir": "Jammu and Kashmir",
    "andaman & nicobar islands": "Andaman and Nicobar Islands",
    "andaman and nicobar": "Andaman and Nicobar Islands",
    "dadra and nagar haveli": "Dadra and Nagar Haveli and Daman and Diu",
    "daman and diu": "Dadra and Nagar Haveli and Daman and Diu",
    "dadra & nagar haveli and daman & diu": "Dadra and Nagar Haveli and Daman and Diu",
}
_BY_NAME = {name.lower(): name for name in STATES.values()} | _ALIASES


def state_name(value: str | None, *, field: str = "province") -> str:
    """The state's name for a code (`KA`, `IN-KA`, `ka`) or a name in any case."""
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput("The shipping address has no state.", field=field)
    code = text.upper().removeprefix("IN-").removeprefix("IN_")
    if code in STATES:
        return STATES[code]
    if text.lower() in _BY_NAME:
        return _BY_NAME[text.lower()]
    raise InvalidInput(
        f"{text!r} is not an Indian state or union territory Qikink can ship to; use the "
        "state's name (e.g. Karnataka) or its code (KA).",
        field=field,
    )


def normalise_phone(value: str | None, *, field: str = "phone") -> str:
    """Ten digits, as Qikink expects: `+91 98000 00000`, `091-9800000000` -> `9800000000`."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            "The shipping address has no phone number, which Qikink needs for delivery.",
            field=field,
        )
    digits = re.sub(r"[\s().-]", "", text)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("91"):
            raise InvalidInput(
                f"Phone {text!r} is not an Indian number: Qikink ships with Indian numbers.",
                field=field,
            )
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if not re.fullmatch(r"[6-9][0-9]{9}", digits):
        raise InvalidInput(
            f"Phone {text!r} is not a 10-digit Indian mobile number, which Qikink needs for "
            "delivery.",
            field=field,
        )
    return digits
