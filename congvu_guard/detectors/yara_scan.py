"""HUE-11.5 YARA: the shipped rule set (``rules/``) plus operator rule directories.

Rules are compiled once at start; a bad rule file is a start-up error naming the file. A
reload (SIGHUP) compiles the new set aside and swaps it in only when it compiled, so a
broken file leaves the old rules working. Each scan has a timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yara

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector
from .scanning import finding

log = logging.getLogger("congvu_guard.yara")

RULE = "HUE-11.5/yara"
_DOCUMENTS = frozenset({"ole", "ooxml", "rtf", "pdf"})
SHIPPED = Path(__file__).resolve().parent / "rules"
_SEVERITIES = {s.name.lower(): s for s in Severity}


class YaraError(RuntimeError):
    pass


def rule_files(dirs: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for d in (SHIPPED, *map(Path, dirs)):
        if not d.is_dir():
            raise YaraError(f"YARA rule directory {d} does not exist")
        files += sorted(p for p in d.iterdir() if p.suffix in (".yar", ".yara"))
    return files


def compile_rules(dirs: Sequence[str | Path]) -> tuple[yara.Rules, int]:
    files = rule_files(dirs)
    try:
        rules = yara.compile(filepaths={f"n{i}": str(p) for i, p in enumerate(files)})
    except yara.SyntaxError as e:
        raise YaraError(f"bad YARA rule: {e}") from e
    except yara.Error as e:
        raise YaraError(f"cannot compile YARA rules: {e}") from e
    return rules, len(files)


class YaraScanner:
    """Matches run on threads of our own, never on libmilter's.

    yara-python calls back into Python with PyGILState_Ensure() for every match, while
    pymilter manages thread states by hand and libmilter moves a connection between its
    worker threads; mixing the two crashed the milter (a segfault in take_gil, found by
    `congvu-guard demo` after a burst of connections). Python-created threads have proper
    thread states, and the hop costs microseconds; YARA releases the GIL while it scans.
    """

    def __init__(self, dirs: Sequence[str], timeout_seconds: int, workers: int = 2) -> None:
        self.dirs = tuple(dirs)
        self.timeout = timeout_seconds
        self._rules, self.files = compile_rules(self.dirs)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yara")
        self.generation = 1

    def reload(self) -> bool:
        """Recompile; keep the current rules if the new set does not compile."""
        try:
            rules, files = compile_rules(self.dirs)
        except YaraError as e:
            log.error("YARA reload failed, keeping the previous rules: %s", e)
            return False
        with self._lock:
            self._rules, self.files = rules, files
            self.generation += 1
        log.info("YARA rules reloaded: %d files (generation %d)", files, self.generation)
        return True

    def match(self, data: bytes) -> list[yara.Match]:
        return self.match_all([data])[0]

    def match_all(self, datas: Sequence[bytes]) -> list[list[yara.Match]]:
        """Every file of a message in one trip to a scanning thread (fewer GIL hand-offs
        than one trip per file); a file that times out has no matches."""
        rules = self._rules  # a reference: a concurrent reload swaps, never mutates

        def scan() -> list[list[yara.Match]]:
            out: list[list[yara.Match]] = []
            for data in datas:
                try:
                    out.append(rules.match(data=data, timeout=self.timeout))
                except yara.TimeoutError:
                    log.warning("YARA scan timed out after %s s", self.timeout)
                    out.append([])
            return out

        return self._pool.submit(scan).result()

    # Documents and their parts: the text they quote does not run (rules whose meta says
    # bare_files_only are about scripts; what a document can run is judged by office_docs).
    def detector(self) -> Detector:
        def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
            nodes = [node for node in msg.content.files if node.data]
            for node, matches in zip(nodes, self.match_all([n.data for n in nodes]),
                                     strict=True):
                for m in matches:
                    meta = m.meta or {}
                    if meta.get("bare_files_only") and (
                            node.container == "ooxml" or node.kind in _DOCUMENTS):
                        continue  # script words quoted in a document (issue 13)
                    severity = _SEVERITIES.get(str(meta.get("severity", "medium")).lower(),
                                               Severity.MEDIUM)
                    desc = meta.get("description", m.rule)
                    f = finding(RULE, severity, f"YARA {m.rule}: {desc}", "yara", node)
                    yield Finding(f.rule, f.detail, f.action, f.severity, f.detector,
                                  facts=(*f.facts, ("yara_rule", m.rule)), policy=True)

        return Detector("yara", (RULE,), detect)
