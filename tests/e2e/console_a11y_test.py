"""Issue 18, accessible and plain: every section's controls have names, and the tabs work from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import run_console_flow
from support.gateway_server import GatewayProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SECTIONS = ["overview", "rules", "preview", "pixels", "optouts", "ledger"]


def test_every_control_is_named_and_the_tabs_follow_the_arrow_keys(
    ohif_installed: Path, gateway: GatewayProcess
) -> None:
    report = run_console_flow(ohif_installed, gateway, "console_a11y_flow")
    assert report["sections"] == SECTIONS
    assert report["backToFirst"] == SECTIONS[0]
    assert report["unnamed"] == []
