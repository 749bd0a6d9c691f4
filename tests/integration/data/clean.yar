/* The lab's and the tests' YARA rules: what a LockBit intrusion leaves in
 * a backup taken after the attackers arrived. */
rule drover_lab_lockbit_note
{
    strings:
        $a = "LockBit Black" ascii wide nocase
        $b = "All your important files are stolen and encrypted" ascii wide nocase
    condition:
        any of them
}
