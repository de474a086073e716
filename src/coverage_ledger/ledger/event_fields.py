"""Field types shared by the event schemas."""

from typing import Annotated

from pydantic import Field, StringConstraints

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Rupiah = Annotated[int, Field(ge=0, le=10**15, description="Whole rupiah.")]
