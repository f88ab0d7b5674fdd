"""Fixtures for the labeling tests: a user per role and API clients logged in as them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.roles import ADMIN, LABELER, ML_ENGINEER
from tests.factories import ProjectFactory, UserFactory


@pytest.fixture
def project(db):
    return ProjectFactory(k=4, overlap=1)


@pytest.fixture
def labeler(db):
    return UserFactory(roles=[LABELER])


@pytest.fixture
def other_labeler(db):
    return UserFactory(roles=[LABELER])


@pytest.fixture
def admin_user(db):
    return UserFactory(roles=[ADMIN])


@pytest.fixture
def engineer(db):
    return UserFactory(roles=[ML_ENGINEER])


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    """``api(user)`` is an APIClient authenticated as ``user`` (None: anonymous)."""
    return client_for
