// congvu-guard shipped rules (HUE-11.5). The EICAR test file: how a data centre checks,
// end to end, that malware scanning works.
rule EICAR_Test_File
{
    meta:
        description = "EICAR anti-virus test file"
        severity = "critical"
    strings:
        $eicar = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
        $head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    condition:
        $head at 0 and $eicar in (0..128)
}
