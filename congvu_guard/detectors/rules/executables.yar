// Executables hidden where none belongs: a PE image inside a document or another file.
rule PE_Embedded_In_File
{
    meta:
        description = "Windows executable embedded inside another file"
        severity = "high"
    strings:
        $stub = "This program cannot be run in DOS mode"
        $mz = { 4D 5A }
    condition:
        not ($mz at 0) and $stub in (64..filesize)
}

rule Script_Dropper_Download_Execute
{
    meta:
        description = "script that downloads and runs a program"
        severity = "high"
        // Only a bare file runs: the same words quoted in a document (.docx part, .doc,
        // RTF, PDF: a security advisory) are not a script (issue 13).
        bare_files_only = true
    strings:
        $d1 = "DownloadFile" nocase
        $d2 = "DownloadString" nocase
        $d3 = "MSXML2.XMLHTTP" nocase
        $d4 = "WinHttpRequest" nocase
        $d5 = "Invoke-WebRequest" nocase
        $x1 = "WScript.Shell" nocase
        $x2 = "Start-Process" nocase
        $x3 = "ShellExecute" nocase
        $x4 = "powershell -" nocase
    condition:
        filesize < 2MB and any of ($d*) and any of ($x*)
}
