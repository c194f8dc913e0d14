"""``GET /claims/{id}/status``: a claim's status and version alone, one row by primary key."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem, claim_body, create_claim, hop, inline


async def stored_claim(client: httpx.AsyncClient) -> dict[str, object]:
    return await create_claim(client, claim_body("Austin initiated the call", hop(inline("Patrick Ryder"), "said")))


class TestClaimStatus:
    async def test_a_new_claim_is_active_at_version_1_with_the_claims_etag(self, client: httpx.AsyncClient) -> None:
        claim = await stored_claim(client)
        response = await client.get(f"/claims/{claim['id']}/status")
        assert response.status_code == 200
        assert response.json() == {"id": claim["id"], "status": "active", "version": 1}
        assert response.headers["etag"] == (await client.get(f"/claims/{claim['id']}")).headers["etag"] == '"1"'

    async def test_an_edit_bumps_the_version(self, client: httpx.AsyncClient) -> None:
        claim = await stored_claim(client)
        edited = await client.patch(
            f"/claims/{claim['id']}", json={"text": "Austin made the call"}, headers={"If-Match": '"1"'}
        )
        assert edited.status_code == 200
        response = await client.get(f"/claims/{claim['id']}/status")
        assert (response.json()["version"], response.headers["etag"]) == (2, edited.headers["etag"])

    async def test_a_retracted_claim_says_so(self, client: httpx.AsyncClient) -> None:
        claim = await stored_claim(client)
        assert (
            await client.post(f"/claims/{claim['id']}/retract", json={"reason": "misattributed"})
        ).status_code == 200
        assert (await client.get(f"/claims/{claim['id']}/status")).json()["status"] == "retracted"

    async def test_an_unknown_claim_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/claims/00000000-0000-0000-0000-000000000000/status")
        assert_problem(response, 404)

    async def test_a_malformed_id_is_404(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/claims/not-an-id/status")).status_code == 404

    async def test_reads_need_no_key(self, anonymous_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
        claim = await stored_claim(client)
        assert (await anonymous_client.get(f"/claims/{claim['id']}/status")).status_code == 200
