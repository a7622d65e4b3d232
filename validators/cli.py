"""`segur validate`: validate CDA documents from the command line.

Exit codes: 0 every document valid; 1 at least one invalid; 2 an input could not be read
(missing file, not XML, hostile or oversize) or a usage error (bad option, unusable pack).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from segur.kernel.official_pack import find_pack
from segur.validators import batch
from segur.validators.api import Validator
from segur.validators.config import ConfigError, parse_size, setting, value_sets_setting
from segur.validators.output import FORMATS, RENDERERS, render_text
from segur.validators.packs import PackDir, PackError
from segur.validators.profiles import UnknownProfile
from segur.validators.report import LAYERS
from segur.validators.safe_xml import DEFAULT_MAX_SIZE

EXIT_USAGE = 2
PATHS_HELP = "CDA files, directories (recursive *.xml), globs, or - for stdin."


def _usage_error(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def register(app: typer.Typer, serve: typer.Typer) -> None:
    @app.command("validate")
    def validate_command(
        paths: list[str] = typer.Argument(..., help=PATHS_HELP),
        pack: str = typer.Option(None, "--pack", help="ANS pack directory (infrastructure/, schematrons/, "
                                 "jeuxDeValeurs/). Default: env SEGUR_PACK, then 'pack' in ./segur.toml or "
                                 "~/.config/segur/config.toml, then ../shared/ref/cda when present."),
        no_pack: bool = typer.Option(False, "--no-pack", help="Run without the official pack (xml, structure "
                                     "and segur layers only)."),
        profile: str = typer.Option("auto", "--profile", help="auto (from templateId/LOINC code), none (no "
                                    "Schematron), common (common pack only), or a volet: IMG-CR-IMG, "
                                    "BIO-CR-BIO_2024.01…"),
        output_format: str = typer.Option("text", "--format", "-f", help="text, json, junit or svrl."),
        output: Path = typer.Option(None, "--output", "-o", help="Write the report to this file."),
        jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes (0 = one per core)."),
        max_size: str = typer.Option(None, "--max-size",
                                     help="Largest document accepted, e.g. 50MB (default) or 1048576."),
        lang: str = typer.Option(None, "--lang", help="Language of the project's own rule messages: en, fr."),
        layers: str = typer.Option(None, "--layers", help=f"Comma-separated subset of {','.join(LAYERS)} "
                                   "(xml always runs)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Text format: only the summary line."),
        only_invalid: bool = typer.Option(False, "--only-invalid", help="Text format: omit valid documents."),
        strict: bool = typer.Option(False, "--strict", help="A layer that could not run (no pack, no engine) "
                                    "makes the document invalid (VAL-002) instead of being only reported."),
        schematron_mode: str = typer.Option("fast", "--schematron-mode", help="fast (one pass per pack) or "
                                            "classic (one pass per pattern, the ISO skeleton's shape)."),
        value_set: list[str] = typer.Option(
            None, "--value-set", help="[ROLE=]FILE, repeatable: a value set the pack does not ship, IHE SVS "
            "XML or FHIR JSON; bio-results=FILE is ANS's 'JDV Circuit de la biologie' for the CR-BIO result "
            "codes. Default: env SEGUR_VALUE_SETS, then value_sets in segur.toml."),
    ) -> None:
        """Validate CDA R2 documents: safe XML, CDA XSD, official CI-SIS Schematron packs, Ségur rules."""
        if output_format not in FORMATS:
            raise _usage_error(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        try:
            size_setting = setting("max_size") if max_size is None else None
            limit = parse_size(max_size if max_size is not None else
                               (size_setting.value if size_setting else DEFAULT_MAX_SIZE))
            lang_value = lang or (setting("lang").value if setting("lang") else "en")
            if lang_value not in ("en", "fr"):
                raise ConfigError(f"--lang must be en or fr, not {lang_value!r}")
            sets_setting = value_sets_setting(value_set)
            chosen = None if no_pack else find_pack(pack, config_lookup=lambda: setting("pack"))
            pack_dir = PackDir.open(chosen.path, chosen.source) if chosen else None
        except (ConfigError, PackError) as exc:
            raise _usage_error(str(exc)) from None
        selected = tuple(LAYERS) if not layers else tuple(x.strip() for x in layers.split(",") if x.strip())
        unknown = set(selected) - set(LAYERS)
        if unknown:
            raise _usage_error(f"unknown layer(s) {', '.join(sorted(unknown))}; known: {', '.join(LAYERS)}")
        if "xml" not in selected:
            selected = ("xml", *selected)
        if schematron_mode not in ("fast", "classic"):
            raise _usage_error(f"--schematron-mode must be fast or classic, not {schematron_mode!r}")
        if jobs < 0:
            raise _usage_error("--jobs must be 0 (one per core) or more")
        options = {"pack": pack_dir if pack_dir else False, "profile": profile, "layers": selected,
                   "max_size": limit, "lang": lang_value, "keep_svrl": output_format == "svrl",
                   "schematron_mode": schematron_mode, "strict": strict,
                   "value_sets": list(sets_setting.value) if sets_setting else []}
        try:
            Validator(**options)  # usage errors (unknown profile) before any work
        except (UnknownProfile, ValueError) as exc:
            raise _usage_error(str(exc)) from None

        if pack_dir is None and not no_pack:
            Console(stderr=True).print("note: no pack directory configured: the xsd and schematron layers "
                                       "will not run (give --pack DIR, set SEGUR_PACK, "
                                       "or --no-pack to silence this)",
                                       style="yellow", highlight=False, soft_wrap=True)
        items = batch.expand(paths)
        stdin = batch.stdin_bytes(limit) if "-" in items else None
        workers = batch.default_jobs() if jobs == 0 else jobs
        err = Console(stderr=True)
        show_progress = err.is_terminal and len(items) > 1
        if show_progress:
            columns = (TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            # redrawn as documents end, not by rich's refresh thread: a thread makes the batch spawn its
            # workers instead of forking them warm (batch.py)
            progress = Progress(*columns, console=err, transient=True, auto_refresh=False)

            def advance(_report) -> None:
                progress.advance(task)
                progress.refresh()

            with progress:
                task = progress.add_task("validate", total=len(items))
                progress.refresh()
                reports, summary = batch.run(items, options, workers, advance, stdin)
        else:
            reports, summary = batch.run(items, options, workers, None, stdin)

        if output_format == "text":
            if output:
                with output.open("w", encoding="utf-8") as handle:
                    render_text(reports, summary, Console(file=handle, no_color=True, width=200),
                                show_valid=not only_invalid, quiet=quiet)
            else:
                render_text(reports, summary, Console(highlight=False), show_valid=not only_invalid,
                            quiet=quiet)
        else:
            text = RENDERERS[output_format](reports, summary)
            if output:
                output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text if text.endswith("\n") else text + "\n")
        raise typer.Exit(summary.exit_code)
