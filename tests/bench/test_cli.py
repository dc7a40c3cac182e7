"""`referee bench ...` end to end through the real Typer app: exit codes, JSON, HTML, SARIF, rule docs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from referee.cli import app

from .conftest import EXAMPLES

runner = CliRunner()


def _bench(*args: str):
    return runner.invoke(app, ["bench", *args])


def test_exit_codes_follow_verdicts() -> None:
    ok = _bench("patch", "--ref", str(EXAMPLES / "patch_pass/ref"), "--cand", str(EXAMPLES / "patch_pass/cand"))
    assert ok.exit_code == 0, ok.output
    flag = _bench("baseline", "--ref", str(EXAMPLES / "baseline_noisy/ref"))
    assert flag.exit_code == 1
    fail = _bench("bundle", "--ref", str(EXAMPLES / "bundle_fail_p1/validation/base"), "--cand",
                  str(EXAMPLES / "bundle_fail_p1/validation/final"))
    assert fail.exit_code == 2 and "BBU020" in fail.output
    degraded = _bench("profile")
    assert degraded.exit_code == 3


def test_usage_error_is_exit_4() -> None:  # usage errors have their own code (docs/cli.md), never a verdict's
    result = _bench("patch", "--ref", str(EXAMPLES / "patch_pass/ref"))
    assert result.exit_code == 4 and "needs --cand" in result.output
    bad = _bench("baseline", "--ref", str(EXAMPLES / "patch_pass/ref"), "--invariant", "nonsense")
    assert bad.exit_code == 4


def test_json_output_and_options() -> None:
    result = _bench("patch", "--ref", str(EXAMPLES / "patch_pass/ref"), "--cand", str(EXAMPLES / "patch_pass/cand"),
                    "--json", "--noise-band", "10", "--baseline-throughput", "1003.7")
    data = json.loads(result.output)
    assert result.exit_code == 2 and data["verdict"] == "FAIL"  # an 8% win is inside a 10% band
    assert data["metrics"]["noise_band_pct"] == 10.0
    assert any(f["rule"] == "BPA010" and f["verdict"] == "FAIL" for f in data["findings"])


def test_no_discover_and_explicit_claims() -> None:
    base = EXAMPLES / "patch_flag_isolated"
    plain = _bench("patch", "--ref", str(base / "ref"), "--cand", str(base / "cand"), "--no-discover", "--json")
    assert json.loads(plain.output)["verdict"] == "PASS"  # the raw e2e win is real; no isolated claim was given
    explicit = _bench("patch", "--ref", str(base / "ref"), "--cand", str(base / "cand"), "--no-discover", "--json",
                      "--claims", str(base / "integrate_result.json"),
                      "--claims", f"opbench={base / 'opbench_result.json'}")
    assert json.loads(explicit.output)["action"] == "replace_headline_with_e2e"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)


def test_html_and_sarif_files(tmp_path: Path) -> None:
    html, sarif = tmp_path / "r.html", tmp_path / "r.sarif"
    base = EXAMPLES / "patch_fail_confound"
    result = _bench("patch", "--ref", str(base / "ref"), "--cand", str(base / "cand"), "--html", str(html),
                    "--sarif", str(sarif))
    assert result.exit_code == 2
    parser = _Collector()
    text = html.read_text()
    parser.feed(text)
    assert parser.tags["svg"] == 3 and parser.tags["circle"] == 3 * 14 and not parser.external
    assert "BPA030" in text and "noise band" in text and "kv_mem_fraction" in text
    log = json.loads(sarif.read_text())
    assert any(r["ruleId"] == "BPA030" and r["level"] == "error" for r in log["runs"][0]["results"])


def test_rules_list_and_explain() -> None:
    listing = _bench("rules", "--scope", "harness")
    assert listing.exit_code == 0 and "BHA070" in listing.output and "BPA010" not in listing.output
    explain = _bench("rules", "pa-01")
    assert explain.exit_code == 0 and "## Threshold" in explain.output
    assert _bench("rules", "XX-99").exit_code == 4
    assert _bench("rules", "--scope", "harnes").exit_code == 4


def test_examples_command_lists_runnable_commands() -> None:
    result = _bench("examples")
    assert result.exit_code == 0 and result.output.count("referee bench ") == 12
