# Scenarios of the real-peer lab, sourced by run.sh (which defines begin/end/client/client_pw,
# smb, the addresses and the passwords). One function per scenario, named scenario_<name with
# '-' as '_'>; SCENARIOS lists them in run order. Each writes captures/<name>.pcap and
# results/<name>.txt (the client's commands, output and exit status); expected.tsv says what
# the client must have printed and which findings smbtriage must report.
# shellcheck shell=bash disable=SC2034,SC2154

SCENARIOS=(
    smb-healthy
    smb-tree-bad-name
    smb-tree-bad-name-snaplen128
    smb-tree-access-denied
    smb-session-bad-password
    smb-encrypt-share-smb2_10
    smb3-encrypted-ok
    smb1-only-client-refused
    tcp-connect-refused
    smb-negotiate-timeout
    krb-healthy
    krb-bad-password
    krb-unknown-client
    krb-client-revoked
    krb-skew-as
    krb-skew-tgs
    krb-cname-nospn-required
    krb-cname-nospn-fallback-ntlm
    krb-smb-healthy
    krb-smb-apreq-skew
    krb-smb-badoption-benign
    smb-multi-session-interleaved
    smb-tree-max-connections
)

NTLM_DANA=(-U "CORP\\dana%$DANA_PW" --use-kerberos=off)

scenario_smb_healthy() {
    begin smb-healthy
    client smb-healthy "${SMB[@]}" //dc01.corp.example/data "${NTLM_DANA[@]}" -c 'ls; get readme.txt /dev/null'
    end smb-healthy
}

scenario_smb_tree_bad_name() {
    begin smb-tree-bad-name
    client smb-tree-bad-name "${SMB[@]}" //dc01.corp.example/dta "${NTLM_DANA[@]}" -c ls
    end smb-tree-bad-name
}

# The same failure, captured with a 128-byte snaplen: the capture itself is incomplete.
scenario_smb_tree_bad_name_snaplen128() {
    begin smb-tree-bad-name-snaplen128 -s 128
    client smb-tree-bad-name-snaplen128 "${SMB[@]}" //dc01.corp.example/dta "${NTLM_DANA[@]}" -c ls
    end smb-tree-bad-name-snaplen128
}

# [hr] has valid users = CORP\evan.
scenario_smb_tree_access_denied() {
    begin smb-tree-access-denied
    client smb-tree-access-denied "${SMB[@]}" //dc01.corp.example/hr "${NTLM_DANA[@]}" -c ls
    end smb-tree-access-denied
}

scenario_smb_session_bad_password() {
    begin smb-session-bad-password
    client smb-session-bad-password "${SMB[@]}" //dc01.corp.example/data -U 'CORP\dana%not-her-password' \
        --use-kerberos=off -c ls
    end smb-session-bad-password
}

# [vault] has smb encrypt = required; SMB 2.1 cannot encrypt.
scenario_smb_encrypt_share_smb2_10() {
    begin smb-encrypt-share-smb2_10
    client smb-encrypt-share-smb2_10 "${SMB[@]}" //dc01.corp.example/vault "${NTLM_DANA[@]}" -m SMB2_10 -c ls
    end smb-encrypt-share-smb2_10
}

scenario_smb3_encrypted_ok() {
    begin smb3-encrypted-ok
    client smb3-encrypted-ok "${SMB[@]}" //dc01.corp.example/vault "${NTLM_DANA[@]}" -c 'ls; get keys.txt /dev/null'
    end smb3-encrypted-ok
}

# The DC refuses SMB1 (server min protocol SMB2_02 by default).
scenario_smb1_only_client_refused() {
    begin smb1-only-client-refused
    client smb1-only-client-refused "${SMB[@]}" //dc01.corp.example/data "${NTLM_DANA[@]}" \
        --option='client min protocol=NT1' --option='client max protocol=NT1' -c ls
    end smb1-only-client-refused
}

# offline.corp.example: the address is up, nothing listens on 445 (the kernel answers RST).
scenario_tcp_connect_refused() {
    begin tcp-connect-refused
    client tcp-connect-refused "${SMB[@]}" //offline.corp.example/data "${NTLM_DANA[@]}" -p 445 -c ls
    end tcp-connect-refused
}

# hang.corp.example accepts and never answers. Two captures of one client run: the whole of it
# (smbclient gives up after its own timeout and closes), and one stopped after 3 s, while the
# NEGOTIATE is still unanswered.
scenario_smb_negotiate_timeout() {
    begin smb-negotiate-timeout
    begin smb-negotiate-no-response
    (
        sleep 3
        end smb-negotiate-no-response
    ) &
    local stopper=$!
    client smb-negotiate-timeout "${SMB[@]}" //hang.corp.example/data "${NTLM_DANA[@]}" -p 445 -t 5 -c ls
    wait "$stopper"
    cp "$WORK/results/smb-negotiate-timeout.txt" "$WORK/results/smb-negotiate-no-response.txt"
    end smb-negotiate-timeout
}

# MIT kinit against the Samba (Heimdal) KDC, then a service ticket for the file server.
scenario_krb_healthy() {
    begin krb-healthy
    client_pw krb-healthy "$DANA_PW" kinit dana@CORP.EXAMPLE
    client krb-healthy kvno cifs/dc01.corp.example@CORP.EXAMPLE
    end krb-healthy
}

scenario_krb_bad_password() {
    begin krb-bad-password
    client_pw krb-bad-password 'not-her-password' kinit dana@CORP.EXAMPLE
    end krb-bad-password
}

scenario_krb_unknown_client() {
    begin krb-unknown-client
    client_pw krb-unknown-client 'whatever' kinit mallory@CORP.EXAMPLE
    end krb-unknown-client
}

# frank's account is disabled.
scenario_krb_client_revoked() {
    begin krb-client-revoked
    client_pw krb-client-revoked "$FRANK_PW" kinit frank@CORP.EXAMPLE
    end krb-client-revoked
}

scenario_krb_skew_as() {
    begin krb-skew-as
    client_pw krb-skew-as "$DANA_PW" faketime -f +1h kinit dana@CORP.EXAMPLE
    end krb-skew-as
}

# A TGT at the right time, then a TGS-REQ whose authenticator is an hour ahead.
scenario_krb_skew_tgs() {
    client_pw krb-skew-tgs "$DANA_PW" kinit dana@CORP.EXAMPLE
    begin krb-skew-tgs
    client krb-skew-tgs faketime -f +1h kvno cifs/dc01.corp.example@CORP.EXAMPLE
    end krb-skew-tgs
}

# files.corp.example is a DNS CNAME of dc01.corp.example, with no SPN cifs/files.corp.example.
# The DNS answer is in the capture (smbclient resolves the name after tcpdump started).
scenario_krb_cname_nospn_required() {
    client_pw krb-cname-nospn-required "$DANA_PW" kinit dana@CORP.EXAMPLE
    begin krb-cname-nospn-required
    client krb-cname-nospn-required "${SMB[@]}" //files.corp.example/data --use-kerberos=required \
        --use-krb5-ccache="$CCACHE" -c ls
    end krb-cname-nospn-required
}

# The same alias, letting smbclient get its own tickets with the password (no kinit) and fall
# back to NTLM when the KDC has no cifs/files.corp.example.
scenario_krb_cname_nospn_fallback_ntlm() {
    begin krb-cname-nospn-fallback-ntlm
    client krb-cname-nospn-fallback-ntlm "${SMB[@]}" //files.corp.example/data -U "dana%$DANA_PW" \
        --use-kerberos=desired -c ls
    end krb-cname-nospn-fallback-ntlm
}

# Kerberos end to end: AS exchange, TGS for cifs/dc01, SESSION_SETUP with the AP-REQ, tree connect.
scenario_krb_smb_healthy() {
    begin krb-smb-healthy
    client_pw krb-smb-healthy "$DANA_PW" kinit dana@CORP.EXAMPLE
    client krb-smb-healthy "${SMB[@]}" //dc01.corp.example/data --use-kerberos=required \
        --use-krb5-ccache="$CCACHE" -c 'ls; get readme.txt /dev/null'
    end krb-smb-healthy
}

# Service ticket fetched at the right time; the SMB client's clock is then an hour ahead, so
# its AP-REQ inside SESSION_SETUP is refused with KRB_AP_ERR_SKEW.
scenario_krb_smb_apreq_skew() {
    client_pw krb-smb-apreq-skew "$DANA_PW" kinit dana@CORP.EXAMPLE
    client krb-smb-apreq-skew kvno cifs/dc01.corp.example@CORP.EXAMPLE
    begin krb-smb-apreq-skew
    client krb-smb-apreq-skew faketime -f +1h smbclient -s "$CLIENT_CONF" //dc01.corp.example/data \
        --use-kerberos=required --use-krb5-ccache="$CCACHE" -c ls
    end krb-smb-apreq-skew
}

# Five NTLM sessions at once: two healthy, a misspelt share, a refused share, a wrong password.
scenario_smb_multi_session_interleaved() {
    local s=smb-multi-session-interleaved
    begin $s
    client $s.1 "${SMB[@]}" //dc01.corp.example/data "${NTLM_DANA[@]}" -c 'ls' &
    local p1=$!
    client $s.2 "${SMB[@]}" //dc01.corp.example/dta "${NTLM_DANA[@]}" -c ls &
    local p2=$!
    client $s.3 "${SMB[@]}" //dc01.corp.example/hr "${NTLM_DANA[@]}" -c ls &
    local p3=$!
    client $s.4 "${SMB[@]}" //dc01.corp.example/data -U 'CORP\evan%not-his-password' --use-kerberos=off -c ls &
    local p4=$!
    client $s.5 "${SMB[@]}" //dc01.corp.example/hr -U "CORP\\evan%$EVAN_PW" --use-kerberos=off -c ls &
    local p5=$!
    wait $p1 $p2 $p3 $p4 $p5
    end $s
    cat "$WORK/results/$s".[1-5].txt >"$WORK/results/$s.txt"
}

# A non-forwardable TGT (kinit -F): smbclient's request for a forwarded TGT is refused with
# KDC_ERR_BADOPTION, and the session works all the same.
scenario_krb_smb_badoption_benign() {
    begin krb-smb-badoption-benign
    client_pw krb-smb-badoption-benign "$DANA_PW" kinit -F dana@CORP.EXAMPLE
    client krb-smb-badoption-benign "${SMB[@]}" //dc01.corp.example/data --use-kerberos=required \
        --use-krb5-ccache="$CCACHE" -c ls
    end krb-smb-badoption-benign
}

# [limited] has max connections = 1: a first client holds it (its commands arrive on standard
# input two seconds apart), a second one is refused at TREE_CONNECT.
scenario_smb_tree_max_connections() {
    local s=smb-tree-max-connections
    begin $s
    client $s.1 sh -c '(echo ls; sleep 2; echo ls) | "$@"' holder "${SMB[@]}" \
        //dc01.corp.example/limited "${NTLM_DANA[@]}" &
    local p1=$!
    sleep 1
    client $s.2 "${SMB[@]}" //dc01.corp.example/limited "${NTLM_DANA[@]}" -c ls
    wait $p1
    end $s
    cat "$WORK/results/$s".[12].txt >"$WORK/results/$s.txt"
}
