"""The API against its own OpenAPI schema: Schemathesis (its command line, as a user runs it)
generates requests from /openapi.json, valid and not, against a real `sustain serve` holding
a scenario and a finished plan, as a coordinator (who may call everything). No server error,
every answer's status, headers, content type and body as documented, 405 with Allow right.

Not checked: that schema-valid data is always accepted (positive_data_acceptance) and that
all invalid data is refused (negative_data_rejection): a scenario file or an option's value is
checked beyond what a JSON schema can say (a plan's weights, a file's tables), and pydantic
reads "true" as true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from tests.api_server import serving, uploaded, wait_for
from tests.conftest import TINY

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
)


def test_the_api_keeps_to_its_schema_with_no_server_error(tmp_path: Path) -> None:
    with serving(tmp_path, {"chief": ("UKR", "coordinator")}, jobs=1) as server:
        scenario = uploaded(server, TINY, "chief")
        with server.client("chief") as chief:
            plan = chief.post("/runs", json={"engine": "plan", "scenario": scenario}).json()
            assert wait_for(chief, plan["id"], until=("finished", "failed"))["status"] == "finished"
        report = tmp_path / "schemathesis.xml"
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {server.tokens['chief']}",
                "--checks",
                ",".join(CHECKS),
                "--max-examples",
                "25",
                "--seed",
                "7",
                "--report",
                "junit",
                "--report-junit-path",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        log = server.log()
    assert done.returncode == 0, done.stdout[-6000:]
    suites = ElementTree.parse(report).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 19  # every operation was tried
    assert not suites.findall(".//failure") and not suites.findall(".//error")
    assert "Traceback" not in log
