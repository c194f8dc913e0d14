"""Path and header parameters that several routes share, described once."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter, Parameter

ClaimIdPath = Annotated[str, Parameter(description="The claim's id.")]
SourceIdPath = Annotated[str, Parameter(description="The source's id.")]
ClaimIfMatch = Annotated[str | None, HeaderParameter(name="If-Match", description="The `ETag` of the claim as read.")]
SourceIfMatch = Annotated[str | None, HeaderParameter(name="If-Match", description="The `ETag` of the source as read.")]
