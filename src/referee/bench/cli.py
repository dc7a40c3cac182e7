"""`referee bench SCOPE ...`: audit benchmark claims from raw runs; `referee bench rules` documents the rules.

Exit codes (docs/cli.md, `referee.clikit`): 0 PASS, 1 FLAG, 2 FAIL, 3 DEGRADED (the auditor could not do its job),
4 usage error (a scope without its required leg, a bad option value), 5 an output that could not be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

SCOPE_HELP = {
    "baseline": "Sign off a reference measurement (needs --ref).",
    "patch": "Audit one accepted config/kernel change: --ref leg vs --cand leg.",
    "bundle": "Audit the final bundle: base validation leg (--ref) vs final leg (--cand).",
    "profile": "Re-aggregate a profile top-N before routing (--claims profile=FILE).",
    "harness": "Validate an isolated op bench against the served leg (--ref served leg, --claims opbench=FILE).",
}

bench_app = typer.Typer(name="bench", no_args_is_help=True, add_completion=False,
                        help="Re-derive benchmark claims from raw runs: PASS, FLAG or FAIL with evidence.")


def _parse_invariants(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"--invariant expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _run(scope: str, ref: Path | None, cand: Path | None, claims: list[str], baseline_throughput: float | None,
         noise_band: float, metric: str, invariant: list[str], as_json: bool, html: Path | None, sarif: Path | None,
         no_discover: bool, workers: int | None, sarif_root: Path | None = None) -> None:
    from referee.bench.audit import UsageError, audit
    from referee.bench.context import AuditOptions
    from referee.clikit import EXIT_IO, check_outputs, usage_error, write_outputs
    from referee.report import render_report, reports_to_sarif

    check_outputs(("--html", html), ("--sarif", sarif))
    try:
        options = AuditOptions(noise_band_pct=noise_band, baseline_throughput=baseline_throughput, metric=metric,
                               invariants=_parse_invariants(invariant), workers=workers)
        result = audit(scope, ref, cand, claims=claims, options=options, discover=not no_discover)
    except (UsageError, ValueError) as exc:
        usage_error(f"bench {scope}: {exc}")
    report = result.report

    def _html() -> str:
        from referee.bench.html import render_html

        return render_html(result)

    def _sarif() -> str:
        import json

        return json.dumps(reports_to_sarif([report], root=sarif_root), indent=2)

    failed = write_outputs([("--html", html, _html), ("--sarif", sarif, _sarif)])
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        render_report(report)
        if html is not None and not failed:
            typer.echo(f"HTML report: {html}")
    raise typer.Exit(EXIT_IO if failed else report.exit_code)


def _make_command(scope: str):
    def command(
        ref: Path | None = typer.Option(None, "--ref", help="Reference leg folder (or its bench_runs.jsonl)."),
        cand: Path | None = typer.Option(None, "--cand", help="Candidate leg folder (or its bench_runs.jsonl)."),
        claims: list[str] = typer.Option([], "--claims", "-c", help="Claim file, optionally KIND=FILE. Repeatable."),
        baseline_throughput: float | None = typer.Option(None, "--baseline-throughput",
                                                         help="Baseline tok/s the workflow gates against (drift)."),
        noise_band: float = typer.Option(0.5, "--noise-band", help="Global noise band in percent, for every rule."),
        metric: str = typer.Option("output_throughput", "--metric", help="Metric to gate on."),
        invariant: list[str] = typer.Option([], "--invariant", help="Declared serving invariant KEY=VALUE."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        html: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
        sarif: Path | None = typer.Option(None, "--sarif", help="Write SARIF 2.1.0 here."),
        sarif_root: Path | None = typer.Option(None, "--sarif-root", file_okay=False,
                                               help="SARIF paths are relative to this folder (default: cwd)."),
        no_discover: bool = typer.Option(False, "--no-discover", help="Only use the claims given with --claims."),
        workers: int | None = typer.Option(None, "--workers", help="Processes for parsing large runs files."),
    ) -> None:
        _run(scope, ref, cand, claims, baseline_throughput, noise_band, metric, invariant, as_json, html, sarif,
             no_discover, workers, sarif_root)

    command.__doc__ = SCOPE_HELP[scope]
    return command


for _scope in SCOPE_HELP:
    bench_app.command(_scope, help=SCOPE_HELP[_scope])(_make_command(_scope))


@bench_app.command("rules")
def rules_command(rule_id: str | None = typer.Argument(None, help="Show one rule's full documentation."),
                  scope: str | None = typer.Option(None, "--scope", help="Only rules of this scope.")) -> None:
    """List the audit rules, or explain one."""
    from rich.console import Console
    from rich.table import Table

    from referee.bench.rules import RULES, SCOPES
    from referee.clikit import usage_error

    console = Console()
    if scope is not None and scope not in SCOPES:
        usage_error(f"unknown --scope {scope!r}; choose one of {', '.join(SCOPES)}")
    if rule_id is not None:
        spec = RULES.get(rule_id)
        if spec is None:
            usage_error(f"unknown bench rule {rule_id!r}; `referee bench rules` lists them")
        console.print(f"[bold]{spec.id} {spec.name}[/bold]  scopes: {', '.join(spec.scopes)}\n")
        console.print(spec.doc_text, markup=False)
        return
    chosen = [spec for spec in RULES.values() if scope is None or scope in spec.scopes]
    if console.width < 100:  # compact: one line per rule, ids never folded (`referee rules ID` explains one)
        for spec in chosen:
            console.print(f"[bold]{spec.id}[/bold] {spec.name}  ({', '.join(spec.scopes)})", soft_wrap=True)
        return
    table = Table()
    for column in ("id", "name", "scopes", "what it does"):
        table.add_column(column, overflow="fold", no_wrap=column == "id")
    for spec in chosen:
        table.add_row(spec.id, spec.name, ", ".join(spec.scopes), spec.section("What it does"))
    console.print(table)


@bench_app.command("examples")
def examples_command() -> None:
    """Print a command for each bundled example scenario and the verdict it should reach."""
    from referee.bench.examples.scenarios import EXPECTED

    root = Path(__file__).resolve().parent / "examples"
    for name, (scope, (ref, cand), verdict, action) in EXPECTED.items():
        parts = [f"referee bench {scope}"]
        if ref:
            parts.append(f"--ref {root / name / ref}")
        if cand:
            parts.append(f"--cand {root / name / cand}")
        if scope == "profile":
            parts.append(f"--claims {root / name / 'profile_topN.json'}")
        typer.echo(f"# {name}: expect {verdict} ({action})\n{' '.join(parts)}")


def register(app: typer.Typer) -> None:
    """Attach this part's commands to the main app."""
    app.add_typer(bench_app, name="bench")
