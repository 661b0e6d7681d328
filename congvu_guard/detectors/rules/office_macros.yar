// Office documents with auto-executing VBA (the macro itself is judged by the type policy).
rule Office_AutoExec_Macro
{
    meta:
        description = "VBA macro that runs when the document is opened"
        severity = "medium"
    strings:
        $vba1 = "Attribute VB_Name" nocase
        $vba2 = "_VBA_PROJECT" wide ascii
        $a1 = "AutoOpen" nocase
        $a2 = "Document_Open" nocase
        $a3 = "Workbook_Open" nocase
        $a4 = "Auto_Open" nocase
        $s1 = "Shell" nocase
        $s2 = "CreateObject" nocase
    condition:
        any of ($vba*) and any of ($a*) and any of ($s*)
}
