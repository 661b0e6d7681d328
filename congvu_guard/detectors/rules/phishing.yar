// Markers of credential-phishing pages and kits sent as attachments (login pages saved to
// disk, pages posting passwords to outside servers), in English and Vietnamese.
rule Phishing_Credential_Form
{
    meta:
        description = "HTML page with a password field that sends what is typed to a server (a form posting to another site, fetch, XMLHttpRequest, jQuery, a Telegram bot)"
        severity = "medium"
    strings:
        $pw = /type\s*=\s*["']?password/ nocase
        $form = /<form[^>]{0,300}action\s*=\s*["']?https?:\/\//i
        // Until 2026-12-02 a lure phrase ("verify your account", "xac thuc tai khoan" ...)
        // was also required, and pages that send by script were not looked for: a login
        // page posting to a Telegram bot, in no listed wording, passed.
        $s1 = /fetch\s*\(\s*["'`]https?:\/\//i
        $s2 = "XMLHttpRequest" nocase
        $s3 = /\$\.(ajax|post)\s*\(/i
        $s4 = "api.telegram.org" nocase
        $s5 = "sendBeacon" nocase
    condition:
        filesize < 5MB and $pw and ($form or any of ($s*))
}

rule Phishing_Obfuscated_Page
{
    meta:
        description = "HTML page that writes itself out of an encoded string (document.write of unescape or atob), the wrapper of phishing attachments"
        severity = "medium"
    strings:
        // Each pattern starts with a literal, which YARA's atoms find: a bare run of
        // base64 characters has none and would be tried at every byte of every file.
        $u = /document\.write\s*\(\s*(window\.)?unescape\s*\(\s*["'](%[0-9a-fA-F]{2}){64}/i
        $w = /document\.write\s*\([^)]{0,80}atob\s*\(/i
        $a = /atob\s*\(\s*["'][A-Za-z0-9+\/=]{256}/
    condition:
        filesize < 5MB and ($u or ($w and $a))
}

rule Phishing_Kit_Script
{
    meta:
        description = "phishing kit mailer script"
        severity = "high"
    strings:
        $php = "<?php"
        $p1 = "$_POST['password']" nocase
        $p2 = "$_POST[\"password\"]" nocase
        $m = "mail(" nocase
        $t = "telegram" nocase
    condition:
        $php and any of ($p*) and ($m or $t)
}
