// HTML smuggling: a page that builds a file in the browser and makes it download itself.
rule HTML_Smuggling
{
    meta:
        description = "HTML smuggling (a file assembled by script and saved)"
        severity = "medium"
    strings:
        $blob = /new\s+Blob\s*\(/ nocase
        $save1 = "msSaveOrOpenBlob" nocase
        $save2 = "createObjectURL" nocase
        $click = ".click()" nocase
        $dl = ".download" nocase
        $b64 = /atob\(\s*['"][A-Za-z0-9+\/=]{1000,}/
    condition:
        filesize < 20MB and $blob and (any of ($save*)) and ($click or $dl or $b64)
}
