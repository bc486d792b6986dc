"""`gridguard tickets train | replay FILE.jsonl [--json] | import FILE [--channel 12345]`.

`train` retrains the classifier from the team's corpus and every operator correction, reports
macro-F1 on a held-out fifth of the corpus, and saves the model the servers load.

`replay` reads tickets (one JSON object per line: id, channel, received_at, text, place) into
a fresh temporary store, in the order given, through the same intake as every channel, and
prints one JSON object per line: id, subclass, confidence, case. It runs in a child process
whose database is a new SQLite file in a temporary folder, so no real data is read or changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.tickets import classifier
from gridguard.tickets.models import Channel
from gridguard.tickets.services import imports

_IN_TEMP_STORE = "GRIDGUARD_REPLAY_STORE"
BATCH = 200


class Command(BaseCommand):
    help = "Train the ticket classifier, or replay tickets into a temporary store."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="{train,replay,import}")
        t = sub.add_parser("train", help="retrain from the corpus and operators' corrections")
        t.add_argument(
            "--no-holdout",
            action="store_true",
            help="skip the held-out evaluation (train on everything at once)",
        )
        r = sub.add_parser("replay", help="replay tickets from a JSON-lines file")
        r.add_argument("file", help="JSON lines: id, channel, received_at, text, place")
        r.add_argument("--json", action="store_true", help="one JSON object per line (default)")
        i = sub.add_parser("import", help="take in a hotline export (CSV or XLSX)")
        i.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX, one ticket a row")
        i.add_argument(
            "--channel",
            choices=[str(c) for c in Channel.values],
            help="the channel of rows whose channel cell is blank (e.g. 12345)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["what"] == "train":
            self._train(holdout=not opts["no_holdout"])
        elif opts["what"] == "import":
            self._import(Path(opts["file"]), opts.get("channel"))
        else:
            self._replay(Path(opts["file"]))

    def _train(self, *, holdout: bool) -> None:
        from gridguard.tickets import evaluation

        examples = classifier.corpus_examples()
        if not examples:
            raise CommandError(f"no training examples under {classifier.DATA_DIR / 'corpus'}")
        corrections = classifier.correction_examples()
        if holdout:
            f1 = evaluation.holdout_macro_f1(examples)
            self.stdout.write(f"macro-F1 on a held-out fifth of the corpus: {f1:.3f}")
        model = classifier.train(examples, corrections=corrections)
        path = classifier.save(model)
        classifier.use(model)
        self.stdout.write(
            f"trained on {model.examples} examples and {model.corrections} corrections; "
            f"saved to {path}"
        )

    def _replay(self, source: Path) -> None:
        if not source.is_file():
            raise CommandError(f"no such file: {source}")
        if os.environ.get(_IN_TEMP_STORE) != "1":
            self._replay_in_child(source)
            return
        from gridguard.tickets import evaluation

        call_command("migrate", verbosity=0, interactive=False)
        for line in evaluation.replay_lines(source, batch=BATCH):
            self.stdout.write(json.dumps(line, ensure_ascii=False))

    def _replay_in_child(self, source: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="gridguard-replay-") as tmp:
            env = dict(os.environ)
            env[_IN_TEMP_STORE] = "1"
            env["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'replay.sqlite3'}"
            env.setdefault("GRIDGUARD_LOG", "WARNING")
            done = subprocess.run(  # noqa: S603 - our own interpreter and command
                [sys.executable, "-m", "gridguard.cli", "tickets", "replay", str(source)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        self.stdout.write(done.stdout, ending="")
        if done.returncode != 0:
            raise CommandError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")

    def _import(self, source: Path, channel: str | None) -> None:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise CommandError(f"{source}: {exc.strerror or exc}") from exc
        try:
            result = imports.import_tickets(SYSTEM, data, source.name, channel)
        except InvalidInput as exc:
            self._problems(exc.errors)
            raise CommandError(
                f"{source.name}: {len(exc.errors)} problem(s); nothing was imported"
            ) from exc
        if result.ignored_columns:
            self.stderr.write(f"columns skipped: {', '.join(result.ignored_columns)}")
        self.stdout.write(
            f"{source.name}: {result.rows} rows; {result.created} tickets created, "
            f"{result.repeated} already there, {result.bad_rows} bad rows"
        )
        if result.errors:
            self._problems(result.errors)
            raise CommandError(
                f"{source.name}: {result.bad_rows} bad row(s) not imported; the others landed"
            )

    def _problems(self, errors: Any) -> None:
        for e in errors:
            where = f"line {e.line}: " if e.line is not None else ""
            name = f"{e.field}: " if e.field else ""
            self.stderr.write(f"{where}{name}{e.message}")
