from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_a_budget_of_zero_hours_is_refused():
    project = Project(name="Empty", code="EMP", budget_hours=Decimal("0"))

    with pytest.raises(ValidationError, match="leave it empty for none"):
        project.full_clean()


def test_budget_progress_stops_the_bar_at_full_but_reports_the_overrun():
    project = Project(budget_hours=Decimal("40"))
    project.logged_hours = Decimal("50")

    assert project.budget_percent == 125
    assert project.bar_percent == 100
    assert project.is_over_budget


def test_a_project_without_a_budget_is_never_over_it():
    project = Project(budget_hours=None)
    project.logged_hours = Decimal("500")

    assert project.budget_percent is None
    assert not project.is_over_budget
