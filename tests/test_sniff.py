"""Content sniffing of script files: right kinds, linear time on hostile input."""

from __future__ import annotations

import pytest

from congvu_guard.detectors.filetypes import sniff


@pytest.mark.parametrize(("text", "kind"), [
    (b'<job id="x"><script language="VBScript">x</script></job>', "wsf"),
    (b"<JOB>\r\n<SCRIPT LANGUAGE=JScript>", "wsf"),
    (b"<script language=x></script><job>", "html"),  # the script must come after the job
    (b"<job>" * 10000, "text"),  # many tags, no script: two linear searches, not a regex .*
])
def test_windows_script_files_are_recognised_by_a_job_then_a_script(text: bytes,
                                                                   kind: str) -> None:
    assert sniff(text, "a.wsf") == kind
