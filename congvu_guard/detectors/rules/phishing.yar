// Markers of credential-phishing pages and kits sent as attachments (login pages saved to
// disk, pages posting passwords to outside servers), in English and Vietnamese.
rule Phishing_Credential_Form
{
    meta:
        description = "HTML login form that sends a password to another site"
        severity = "medium"
    strings:
        $form = /<form[^>]{0,300}action\s*=\s*["']https?:\/\//i
        $pw = /type\s*=\s*["']?password/i
        $t1 = "verify your account" nocase
        $t2 = "mailbox will be" nocase
        $t3 = "x\xc3\xa1c th\xe1\xbb\xb1c t\xc3\xa0i kho\xe1\xba\xa3n" nocase
        $t4 = "xac thuc tai khoan" nocase
        $t5 = "h\xe1\xbb\x99p th\xc6\xb0 c\xe1\xbb\xa7a b\xe1\xba\xa1n s\xe1\xba\xbd b\xe1\xbb\x8b" nocase
        $t6 = "webmail" nocase
        $t7 = "sign in to continue" nocase
    condition:
        filesize < 5MB and $form and $pw and any of ($t*)
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
