"""The SDK, the `caas` command and the MCP server against the running app: the live server of the
browser tests (a real server on loopback, committed data on the test database, truncated after the
module), a client with lenders in its network, a scoring model and a sanctions list, and real API
keys. Scoring runs in a burst worker; lenders bid through the market's operations."""
from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import factories
from tests.browser import conftest as browser

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
CAAS = str(Path(sys.executable).with_name("caas"))  # the console script the SDK installs

# The browser tests' live server (a real server on loopback on the test database), reused as is.
live_app = browser.live_app
live_server = browser.live_server


@dataclass
class World:
    url: str
    client_id: uuid.UUID
    key: str                # every scope
    read_only_key: str      # applications:read only
    lender_id: uuid.UUID    # NG, in the network
    ghana_lender_id: uuid.UUID


@pytest.fixture(scope="module")
def world(live_app, live_server) -> World:
    from caas.core.extensions import db
    from caas.credit import scoring_models
    from caas.screening import lists
    from caas.tenancy.models import Client
    from tests.market.world import lender

    with live_app.app_context():
        session = db.session
        scoring_models.register(session, factories.SYSTEM, scoring_models.train_from_file(
            REFERENCE / "german_train.data", cross_validation=False))
        sdn = "\n".join((REFERENCE / "ofac" / "sdn.csv").read_text(encoding="latin-1").splitlines()[:200])
        lists.import_list(session, factories.SYSTEM, sdn, None)
        client = factories.client(session, display_name="SDK Lend")
        client.quota_api_calls_per_hour = 100_000  # the tests make many calls; the limit is tested elsewhere
        ng = lender(session, client)
        gh = lender(session, client, funds_minor=0)
        gh.country = "GH"
        key = factories.api_key(session, client)
        read_only = factories.api_key(session, client, scopes=["applications:read"])
        session.commit()
        found = World(live_server, client.id, key, read_only, ng.id, gh.id)
        assert session.get(Client, client.id) is not None
        session.remove()
    return found


def score(live_app) -> None:
    """Run the scoring jobs the API queued (after commit, through the outbox)."""
    from caas.core import worker

    worker.run(live_app, ["scoring"], burst=True, with_cron=False)


def bid(live_app, world: World, application_id: str, rate: str = "28") -> str:
    """The lender bids on the application's listing, as the provider portal would; returns the offer id."""
    from caas.core import tenant
    from caas.core.extensions import db
    from caas.market import bids
    from caas.market.models import Listing
    from tests.market.world import bid_input

    now = datetime.now(timezone.utc)
    with live_app.app_context():
        session = db.session
        with tenant.provider_scope(world.lender_id, session):
            listing = session.scalar(select(Listing).where(Listing.application_id == uuid.UUID(application_id)))
            assert listing is not None, "the application was not opened for offers"
            made = bids.place(session, factories.SYSTEM, world.lender_id, listing.id,
                              bid_input(rate=rate, valid_until=now + timedelta(days=3)), now)
        session.commit()
        offer_id = str(made.id)
        session.remove()
    return offer_id


def good_applicant(**overrides) -> dict:
    """An applicant the scorecard approves (long employment, own home)."""
    return factories.applicant(months_employed=96, housing="own", **overrides)


@pytest.fixture
def cli_env(world, tmp_path) -> dict:
    """Environment for running `caas` as a subprocess against the live server, with its own config dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAAS_")}
    env.update(CAAS_API_KEY=world.key, CAAS_BASE_URL=world.url, XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env
