"""HUE-11.5 YARA: the shipped rule set (``rules/``) plus operator rule directories.

Rules are compiled once at start; a bad rule file is a start-up error naming the file. A
reload (SIGHUP) compiles the new set aside and swaps it in only when it compiled, so a
broken file leaves the old rules working. Each scan has a timeout.

What is scanned (issue 17: a 20 MB message cost 350 ms of YARA over 30 MB, the same bytes
seen as a zip, as each .docx in it and as each part of each .docx):

- every leaf file (what could run or be opened), documents (OLE, RTF, PDF, OneNote, disk
  images: they hold more than the files taken out of them), and any archive that could not
  be opened completely (an event at or under it, or nothing taken out): all rules;
- the raw bytes of an archive whose members were all taken out (zip, OOXML package, jar,
  gzip, tar, 7z, rar, cab, attached message): only rules whose meta says
  ``containers = true`` (a rule about the archive's own structure); its members are
  scanned anyway, decoded;
- the XML and text parts of an OOXML document (nothing in them runs; macros are
  ``vbaProject.bin``, an OLE leaf): only rules whose meta says ``document_parts = true``.

Results are remembered per file by sha256 and rule-set generation (verdict_cache.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yara

from .. import forksafe
from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from ..verdict_cache import VerdictCache
from . import Detector
from .carriers import STREAMS
from .content import Content, FileNode
from .scanning import finding

log = logging.getLogger("congvu_guard.yara")

RULE = "HUE-11.5/yara"
_DOCUMENTS = frozenset({"ole", "ooxml", "rtf", "pdf"})
SHIPPED = Path(__file__).resolve().parent / "rules"
_SEVERITIES = {s.name.lower(): s for s in Severity}


class YaraError(RuntimeError):
    pass


# Archives whose raw bytes are (compressed) members scanned on their own once taken out.
# Not TNEF: winmail.dat also carries the message body (compressed RTF), which is not taken
# out; not documents or disk images: they hold more than their extracted files.
_ARCHIVES = frozenset({"zip", "ooxml", "jar", "gzip", "tar", "7z", "rar", "cab", "email",
                       *STREAMS})
LEAF, CONTAINER, PART = "leaf", "container", "part"
Hit = tuple[str, dict]  # rule name, its meta
_Key = tuple[str, str]  # namespace, rule name


def rule_files(dirs: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for d in (SHIPPED, *map(Path, dirs)):
        if not d.is_dir():
            raise YaraError(f"YARA rule directory {d} does not exist")
        files += sorted(p for p in d.iterdir() if p.suffix in (".yar", ".yara"))
    return files


def _compile(filepaths: dict[str, str]) -> yara.Rules:
    try:
        return yara.compile(filepaths=filepaths)
    except yara.SyntaxError as e:
        raise YaraError(f"bad YARA rule: {e}") from e
    except yara.Error as e:
        raise YaraError(f"cannot compile YARA rules: {e}") from e


def _flag(meta: dict, key: str) -> bool:
    v = meta.get(key)
    return v is True or v == 1 or str(v).lower() in ("true", "yes")


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules, and the subsets (by file) for archives and OOXML parts: YARA
    cannot run some rules of a compiled set, so a subset is the files holding a flagged
    rule, and matches of that subset's other rules are dropped."""

    full: yara.Rules
    files: int
    subsets: dict[str, tuple[yara.Rules, frozenset[_Key]] | None]


def compile_rules(dirs: Sequence[str | Path]) -> tuple[yara.Rules, int]:
    rs = compile_rule_set(dirs)
    return rs.full, rs.files


def compile_rule_set(dirs: Sequence[str | Path]) -> RuleSet:
    files = rule_files(dirs)
    paths = {f"n{i}": str(p) for i, p in enumerate(files)}
    full = _compile(paths)
    flagged: dict[str, set[_Key]] = {CONTAINER: set(), PART: set()}
    for ns, path in paths.items():
        for rule in _compile({ns: path}):  # one file at a time: which file holds what
            for scope, key in ((CONTAINER, "containers"), (PART, "document_parts")):
                if _flag(rule.meta or {}, key):
                    flagged[scope].add((ns, rule.identifier))
    subsets: dict[str, tuple[yara.Rules, frozenset[_Key]] | None] = {LEAF: None}
    for scope, keys in flagged.items():
        namespaces = {ns for ns, _ in keys}
        subsets[scope] = (_compile({ns: paths[ns] for ns in sorted(namespaces)}),
                          frozenset(keys)) if keys else None
    return RuleSet(full, len(files), subsets)


def scope_of(node: FileNode, opened: set[str]) -> str:
    """Which rules see this file's bytes (see the module docstring)."""
    if node.container == "ooxml" and node.kind in ("text", "html") and \
            node.data[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return PART  # an XML part (EICAR or a script as a part is text: a leaf)
    if node.kind in _ARCHIVES and node.path in opened:
        return CONTAINER
    return LEAF


def opened_archives(content: Content) -> set[str]:
    """Paths of the files that had members taken out and no event at or under them."""
    if any(e.event == "budget" for e in content.events):
        return set()  # the scan stopped somewhere: every archive's raw bytes in full
    troubled: set[str] = set()
    for e in content.events:
        parts = e.path.split(":")
        troubled.update(":".join(parts[:i]) for i in range(1, len(parts) + 1))
    paths = {f.path for f in content.files}
    parents = {_parent(f, paths) for f in content.files if f.data and ":" in f.path}
    return parents - troubled


def _parent(node: FileNode, paths: set[str]) -> str:
    """The path of the file ``node`` was taken out of; "" when unsure (then its archive's
    raw bytes are scanned in full). By the member's name first: a name may hold ":"
    ("a:b.txt" in x.zip is "x.zip:a:b.txt", and "x.zip:a" may be another member)."""
    if node.name and node.path.endswith(":" + node.name):
        parent = node.path[:-len(node.name) - 1]
        if parent in paths:
            return parent
    parent = node.path.rsplit(":", 1)[0]
    return parent if parent in paths else ""


class YaraScanner:
    """Matches run on threads of our own, never on libmilter's.

    yara-python calls back into Python with PyGILState_Ensure() for every match, while
    pymilter manages thread states by hand and libmilter moves a connection between its
    worker threads; mixing the two crashed the milter (a segfault in take_gil, found by
    `congvu-guard demo` after a burst of connections). Python-created threads have proper
    thread states, and the hop costs microseconds; YARA releases the GIL while it scans.
    """

    def __init__(self, dirs: Sequence[str], timeout_seconds: int, workers: int = 2,
                 cache: VerdictCache[tuple[Hit, ...]] | None = None) -> None:
        self.dirs = tuple(dirs)
        self.timeout = timeout_seconds
        self._set = compile_rule_set(self.dirs)
        self.files = self._set.files
        self._workers = workers
        self._lock = forksafe.lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yara")
        self.generation = 1
        self.cache: VerdictCache[tuple[Hit, ...]] = cache if cache is not None else \
            VerdictCache()

    def after_fork(self) -> None:
        """In a forked scan worker (milter/pool.py): the parent's scanning threads did not
        come along."""
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="yara")

    @property
    def _rules(self) -> yara.Rules:
        return self._set.full

    def reload(self) -> bool:
        """Recompile; keep the current rules if the new set does not compile."""
        try:
            new = compile_rule_set(self.dirs)
        except YaraError as e:
            log.error("YARA reload failed, keeping the previous rules: %s", e)
            return False
        with self._lock:
            self._set, self.files = new, new.files
            self.generation += 1
            self.cache.clear()  # results under the old rules (the key has the generation)
        log.info("YARA rules reloaded: %d files (generation %d)", self.files, self.generation)
        return True

    def match(self, data: bytes) -> list[yara.Match]:
        return self.match_all([data])[0]

    def _match(self, rules: yara.Rules, data: bytes) -> list[yara.Match] | None:
        """None when the scan timed out (such a result is not remembered)."""
        try:
            return rules.match(data=data, timeout=self.timeout)
        except yara.TimeoutError:
            log.warning("YARA scan timed out after %s s", self.timeout)
            return None

    def match_all(self, datas: Sequence[bytes]) -> list[list[yara.Match]]:
        """Every rule over each of ``datas`` (no scopes, no cache); a file that times out
        has no matches."""
        rules = self._rules  # a reference: a concurrent reload swaps, never mutates
        return self._pool.submit(
            lambda: [self._match(rules, d) or [] for d in datas]).result()

    def hits(self, files: Sequence[tuple[FileNode, str]]) -> list[tuple[Hit, ...]]:
        """The rules each file matches under its scope, from the cache when its bytes were
        judged before under the same rules; every file of a message in one trip to a
        scanning thread (fewer GIL hand-offs than one trip per file)."""
        with self._lock:
            rule_set, generation = self._set, self.generation
        out: list[tuple[Hit, ...] | None] = [None] * len(files)
        keys: list[tuple[int, str, str] | None] = [None] * len(files)
        for i, (node, scope) in enumerate(files):
            if scope != LEAF and rule_set.subsets[scope] is None:
                out[i] = ()  # no rule asks for these bytes: not even hashed
            else:
                keys[i] = (generation, scope, node.sha256)
                out[i] = self.cache.get(keys[i])
        todo = [i for i, hit in enumerate(out) if hit is None]

        def scan() -> None:
            for i in todo:
                node, scope = files[i]
                subset = rule_set.subsets[scope]
                rules, wanted = (rule_set.full, None) if subset is None else subset
                matches = self._match(rules, node.data)
                if matches is None:
                    out[i] = ()
                    continue
                found = tuple((m.rule, m.meta or {}) for m in matches
                              if wanted is None or (m.namespace, m.rule) in wanted)
                out[i] = found
                self.cache.put(keys[i], found,
                               sum(len(r) + 64 * (1 + len(meta)) for r, meta in found))

        if todo:
            self._pool.submit(scan).result()
        return [hit or () for hit in out]

    # Documents and their parts: the text they quote does not run (rules whose meta says
    # bare_files_only are about scripts; what a document can run is judged by office_docs).
    def detector(self) -> Detector:
        def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
            opened = opened_archives(msg.content)
            files = [(node, scope_of(node, opened)) for node in msg.content.files if node.data]
            for (node, _), hits in zip(files, self.hits(files), strict=True):
                for rule, meta in hits:
                    if meta.get("bare_files_only") and (
                            node.container == "ooxml" or node.kind in _DOCUMENTS):
                        continue  # script words quoted in a document (issue 13)
                    severity = _SEVERITIES.get(str(meta.get("severity", "medium")).lower(),
                                               Severity.MEDIUM)
                    desc = meta.get("description", rule)
                    f = finding(RULE, severity, f"YARA {rule}: {desc}", "yara", node)
                    yield Finding(f.rule, f.detail, f.action, f.severity, f.detector,
                                  facts=(*f.facts, ("yara_rule", rule)), policy=True)

        return Detector("yara", (RULE,), detect)
