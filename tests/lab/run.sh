#!/usr/bin/env bash
# Real-peer lab (issue 9): a Samba AD DC (SMB server, Heimdal KDC, DNS) and real clients
# (smbclient, MIT kinit/kvno) in two private network namespaces joined by a veth pair. Each
# scenario is captured with tcpdump in the client namespace; what the client printed and its exit
# status are recorded beside the capture. tests/lab.rs then checks smbtriage against
# tests/lab/expected.tsv.
#
#   tests/lab/run.sh [--no-install] [--keep] [SCENARIO...]
#
# Needs root, Debian (apt-get) and `ip netns`. Everything it writes goes to $LAB_WORK (default
# /tmp/smbtriage-lab), except /etc/netns/smbtlab-{srv,cli}/resolv.conf (read only by `ip netns
# exec` in these namespaces), which it removes again. No traffic leaves the namespaces: neither
# has a default route, the veth pair is created inside them, and Samba's DNS has no forwarder.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
WORK=${LAB_WORK:-/tmp/smbtriage-lab}
INSTALL=1
KEEP=0
ONLY=()
for arg in "$@"; do
    case "$arg" in
        --no-install) INSTALL=0 ;;
        --keep) KEEP=1 ;;
        -h | --help)
            sed -n '2,14p' "$0"
            exit 0
            ;;
        -*)
            echo "unknown option $arg" >&2
            exit 2
            ;;
        *) ONLY+=("$arg") ;;
    esac
done

NS_SRV=smbtlab-srv
NS_CLI=smbtlab-cli
IF_SRV=sl-srv
IF_CLI=sl-cli
NET=10.254.88
CLI_IP=$NET.10
DC_IP=$NET.30     # dc01.corp.example: Samba AD DC (smbd, KDC, DNS)
HANG_IP=$NET.23   # hang.corp.example: accepts TCP 445, never answers
OFF_IP=$NET.24    # offline.corp.example: address up, nothing listening
REALM=CORP.EXAMPLE
DOMAIN=corp.example
ADMIN_PW='Lab-Admin-Pw1!'
DANA_PW='Dana-Lab-Pw1!'
EVAN_PW='Evan-Lab-Pw1!'
FRANK_PW='Frank-Lab-Pw1!'
PY=/usr/bin/python3

log() { printf '== lab: %s\n' "$*" >&2; }
die() {
    printf '== lab: FAILED: %s\n' "$*" >&2
    exit 1
}

# Exit status 3: the lab cannot run on this machine (not root, no network namespaces, packages
# cannot be installed); .ci/run reports that and goes on. Any other failure is a failure.
cannot() {
    printf '== lab: CANNOT RUN: %s\n' "$*" >&2
    exit 3
}
[ "$(id -u)" = 0 ] || cannot "must run as root"
command -v ip >/dev/null || cannot "ip (iproute2) is missing"
command -v apt-get >/dev/null || [ "$INSTALL" = 0 ] || cannot "no apt-get (the lab installs its packages on Debian)"

# --------------------------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------------------------
# tshark is for the check (tests/lab.rs), not for the lab itself.
PACKAGES=(samba samba-ad-dc samba-ad-provision winbind smbclient krb5-user tcpdump faketime
    python3-impacket iproute2 ethtool tshark)
if [ "$INSTALL" = 1 ]; then
    missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # No service may start on the host while the packages install (smbd, samba-ad-dc...).
        made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            made_policy=1
        fi
        apt-get update -qq || cannot "apt-get update failed"
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/smbtriage-lab-apt.log" 2>&1 ||
            {
                tail -n 20 "${TMPDIR:-/tmp}/smbtriage-lab-apt.log" >&2
                [ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
                cannot "apt-get install ${missing[*]} failed"
            }
        [ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
    fi
fi
for tool in samba samba-tool smbclient kinit kvno tcpdump faketime; do
    command -v "$tool" >/dev/null || cannot "$tool is missing (run without --no-install)"
done

# --------------------------------------------------------------------------------------------
# Clean-up: only what this script started or created
# --------------------------------------------------------------------------------------------
PIDS=()       # processes started by this script (each the leader of its own process group)
CREATED_NS=() # namespaces created by this script
MADE_NETNS_ETC=()
cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        fi
    done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "${CREATED_NS[@]}"; do
        # Any process still inside a namespace we made was started by us (smbd children, ...).
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    for d in "${MADE_NETNS_ETC[@]}"; do rm -rf "$d"; done
    rmdir /etc/netns 2>/dev/null
    [ "$rc" = 0 ] || log "exit $rc; namespaces removed, processes stopped"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Left over from an interrupted run of this lab (the names are this lab's own).
for ns in "$NS_SRV" "$NS_CLI"; do
    if ip netns list | grep -qw "$ns"; then
        log "removing stale namespace $ns from an earlier run"
        for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    fi
done

# Work dir: never in the repository.
case "$WORK" in
    "$LAB_DIR"* | "$(cd "$LAB_DIR/../.." && pwd)"*) die "LAB_WORK must be outside the repository" ;;
esac
if [ -e "$WORK" ]; then
    [ -e "$WORK/.smbtriage-lab" ] || die "$WORK exists and is not a lab work dir"
    rm -rf "$WORK"
fi
mkdir -p "$WORK"/{captures,results,client,home,dc,shares/data,shares/hr,shares/vault}
touch "$WORK/.smbtriage-lab"
echo "lab readme" >"$WORK/shares/data/readme.txt"
echo "vault keys" >"$WORK/shares/vault/keys.txt"
chmod -R a+rwX "$WORK/shares"

# --------------------------------------------------------------------------------------------
# Network: two namespaces, one veth pair created inside them, no default route
# --------------------------------------------------------------------------------------------
log "creating namespaces $NS_SRV and $NS_CLI"
ip netns add "$NS_SRV" 2>"$WORK/results/netns.err" ||
    cannot "ip netns add does not work here: $(cat "$WORK/results/netns.err")"
CREATED_NS+=("$NS_SRV")
ip netns add "$NS_CLI"
CREATED_NS+=("$NS_CLI")
ip link add "$IF_CLI" netns "$NS_CLI" type veth peer name "$IF_SRV" netns "$NS_SRV"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
for ip4 in $DC_IP $HANG_IP $OFF_IP; do ip -n "$NS_SRV" addr add "$ip4/24" dev "$IF_SRV"; done
ip -n "$NS_CLI" addr add "$CLI_IP/24" dev "$IF_CLI"
ip -n "$NS_SRV" link set "$IF_SRV" up
ip -n "$NS_CLI" link set "$IF_CLI" up
# Segments as on a wire (no 64 KiB super-packets in the captures).
if command -v ethtool >/dev/null; then
    ip netns exec "$NS_CLI" ethtool -K "$IF_CLI" tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$NS_SRV" ethtool -K "$IF_SRV" tso off gso off gro off >/dev/null 2>&1 || true
fi
for ns in "$NS_SRV" "$NS_CLI"; do
    if ip -n "$ns" route show default | grep -q .; then die "namespace $ns has a default route"; fi
done
# DNS inside the lab is the DC's own (internal DNS, no forwarder). `ip netns exec` bind-mounts
# these over /etc/resolv.conf for processes in the namespace only.
for ns in "$NS_SRV" "$NS_CLI"; do
    mkdir -p "/etc/netns/$ns"
    MADE_NETNS_ETC+=("/etc/netns/$ns")
    printf 'nameserver %s\nsearch %s\n' "$DC_IP" "$DOMAIN" >"/etc/netns/$ns/resolv.conf"
    # An empty hosts file: names come from the lab's DNS, never from the host's /etc/hosts.
    printf '127.0.0.1 localhost\n' >"/etc/netns/$ns/hosts"
done

in_srv() { ip netns exec "$NS_SRV" "$@"; }
# Background process in a namespace, in its own process group; its PID is recorded.
spawn() {
    local ns=$1 out=$2
    shift 2
    ip netns exec "$ns" setsid "$@" >"$out" 2>&1 </dev/null &
    PIDS+=("$!")
    LAST_PID=$!
}

# --------------------------------------------------------------------------------------------
# Samba AD DC: dc01.corp.example
# --------------------------------------------------------------------------------------------
log "provisioning the AD DC (realm $REALM)"
DC=$WORK/dc
mkdir -p "$DC/run" "$DC/log"
in_srv samba-tool domain provision --realm="$REALM" --domain=CORP --server-role=dc \
    --dns-backend=SAMBA_INTERNAL --adminpass="$ADMIN_PW" --host-name=dc01 --host-ip="$DC_IP" \
    --targetdir="$DC" --use-rfc2307 \
    --option="interfaces = 127.0.0.1 $DC_IP/24" --option="bind interfaces only = yes" \
    --option="pid directory = $DC/run" --option="ncalrpc dir = $DC/run/ncalrpc" \
    --option="ntp signd socket directory = $DC/run/ntp_signd" \
    --option="log file = $DC/log/%m.log" \
    >"$WORK/results/provision.log" 2>&1 || {
    tail -n 30 "$WORK/results/provision.log" >&2
    die "samba-tool domain provision failed"
}
CONF=$DC/etc/smb.conf
# No DNS forwarder: names the lab does not serve get no answer from outside. Also drop what
# provision copied from the distribution's default smb.conf (homes, printers, guest mapping,
# PAM/passwd sync): the lab's DC has only the shares below.
awk '
    /^\[/ { skip = ($0 ~ /^\[(homes|printers|print\$)\]/) }
    skip { next }
    /dns forwarder|map to guest|passwd|pam |usershare|panic action/ { next }
    { print }
' "$CONF" >"$CONF.new"
mv "$CONF.new" "$CONF"
sed -i "/^\[global\]/a\\
\\tdns update command = /bin/true\\
\\tspn update command = /bin/true\\
\\tmap to guest = Never\\
\\tdisable spoolss = yes\\
\\tload printers = no\\
\\tlog level = ${LAB_SAMBA_LOG_LEVEL:-1}" "$CONF"
cat >>"$CONF" <<EOF

[data]
	path = $WORK/shares/data
	read only = no

[hr]
	path = $WORK/shares/hr
	read only = no
	valid users = CORP\\evan

[vault]
	path = $WORK/shares/vault
	read only = no
	smb encrypt = required

[limited]
	path = $WORK/shares/data
	read only = yes
	max connections = 1
EOF

log "starting samba (AD DC)"
# smbd reaches winbindd through libwbclient, whose socket directory is compiled in
# (/run/samba/winbindd): a file-system socket, not a network one. Refuse to share it.
if [ -S /run/samba/winbindd/pipe ] && in_srv "$PY" -c "
import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/samba/winbindd/pipe')" 2>/dev/null; then
    die "a winbindd outside the lab already serves /run/samba/winbindd; stop it first"
fi
if [ ! -d /run/samba ]; then
    mkdir -p /run/samba
    MADE_NETNS_ETC+=(/run/samba)
elif [ ! -e /run/samba/winbindd ]; then
    MADE_NETNS_ETC+=(/run/samba/winbindd)
fi
spawn "$NS_SRV" "$WORK/results/samba.out" samba --foreground --no-process-group -s "$CONF"
SAMBA_PID=$LAST_PID
ready=0
for _ in $(seq 1 120); do
    kill -0 "$SAMBA_PID" 2>/dev/null || break
    if in_srv "$PY" -c "
import socket
for port in (445, 88, 53):
    socket.create_connection(('$DC_IP', port), 1).close()
" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
[ "$ready" = 1 ] || {
    tail -n 30 "$WORK/results/samba.out" >&2
    die "samba did not come up"
}

log "creating users, DNS records"
st() { in_srv samba-tool "$@" -s "$CONF" >>"$WORK/results/setup.log" 2>&1 || die "samba-tool $*"; }
st user create dana "$DANA_PW"
st user create evan "$EVAN_PW"
st user create frank "$FRANK_PW"
st user disable frank
dnsadd() { st dns add "$DC_IP" "$DOMAIN" "$@" -U "Administrator%$ADMIN_PW"; }
dnsadd files CNAME "dc01.$DOMAIN"
dnsadd hang A "$HANG_IP"
dnsadd offline A "$OFF_IP"
# Samba's DNS must answer for the alias from inside the client namespace.
for _ in $(seq 1 20); do
    ip netns exec "$NS_CLI" getent hosts "files.$DOMAIN" >/dev/null 2>&1 && break
    sleep 0.5
done
ip netns exec "$NS_CLI" getent hosts "files.$DOMAIN" >/dev/null || die "lab DNS does not resolve files.$DOMAIN"

# The non-answering SMB server: accepts, reads, never writes.
cat >"$WORK/hang.py" <<EOF
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("$HANG_IP", 445))
srv.listen(16)
def drain(c):
    while c.recv(65536):
        pass
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
EOF
spawn "$NS_SRV" "$WORK/results/hang.out" "$PY" "$WORK/hang.py"
HANG_PID=$LAST_PID
for _ in $(seq 1 50); do
    kill -0 "$HANG_PID" 2>/dev/null || die "the non-answering listener failed: $(cat "$WORK/results/hang.out")"
    in_srv "$PY" -c "import socket; socket.create_connection(('$HANG_IP', 445), 1).close()" 2>/dev/null && break
    sleep 0.1
done
# Nothing may listen on the "offline" address.
if in_srv "$PY" -c "import socket; socket.create_connection(('$OFF_IP', 445), 1).close()" 2>/dev/null; then
    die "something listens on $OFF_IP:445"
fi

# --------------------------------------------------------------------------------------------
# Client side
# --------------------------------------------------------------------------------------------
cat >"$WORK/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	# MIT would otherwise correct its clock from the KDC's PREAUTH_REQUIRED error and never
	# show the skew; a client that does not (Windows, older MIT) gets KRB_AP_ERR_SKEW.
	kdc_timesync = 0
	forwardable = true
	rdns = false
[realms]
	$REALM = {
		kdc = $DC_IP
	}
[domain_realm]
	.$DOMAIN = $REALM
	$DOMAIN = $REALM
EOF
CLIENT_CONF=$WORK/client/smb.conf
mkdir -p "$WORK/client/lock" "$WORK/client/state" "$WORK/client/cache" "$WORK/client/private" "$WORK/client/pid"
cat >"$CLIENT_CONF" <<EOF
[global]
	workgroup = CORP
	realm = $REALM
	lock directory = $WORK/client/lock
	state directory = $WORK/client/state
	cache directory = $WORK/client/cache
	private dir = $WORK/client/private
	pid directory = $WORK/client/pid
	log level = 0
EOF
CCACHE=FILE:$WORK/client/ccache

# Run a client command in the client namespace; record the command, its output, exit status
# and duration in results/SCENARIO.txt. Never fails the script: the exit status is data.
client() {
    local scen=$1
    shift
    local out=$WORK/results/$scen.txt start end rc
    printf '$ %s\n' "$*" >>"$out"
    start=$(date +%s%N)
    set +e
    ip netns exec "$NS_CLI" env HOME="$WORK/home" KRB5_CONFIG="$WORK/krb5.conf" \
        KRB5CCNAME="$CCACHE" timeout 90 "$@" >>"$out" 2>&1 </dev/null
    rc=$?
    set -e
    end=$(date +%s%N)
    local ms=$(((end - start) / 1000000))
    printf 'exit %d after %d.%02ds\n' "$rc" $((ms / 1000)) $((ms % 1000 / 10)) >>"$out"
}
# As client, with the password on standard input (kinit).
client_pw() {
    local scen=$1 pw=$2
    shift 2
    local out=$WORK/results/$scen.txt rc
    printf '$ %s  (password on stdin)\n' "$*" >>"$out"
    set +e
    printf '%s\n' "$pw" | ip netns exec "$NS_CLI" env HOME="$WORK/home" \
        KRB5_CONFIG="$WORK/krb5.conf" KRB5CCNAME="$CCACHE" timeout 30 "$@" >>"$out" 2>&1
    rc=$?
    set -e
    printf 'exit %d\n' "$rc" >>"$out"
}

# tcpdump in the client namespace. begin SCENARIO [tcpdump options...] / end SCENARIO
declare -A CAP_PID
begin() {
    local scen=$1
    shift
    local err=$WORK/results/$scen.tcpdump
    ip netns exec "$NS_CLI" setsid tcpdump -i "$IF_CLI" -n -U --immediate-mode -Z root "$@" \
        -w "$WORK/captures/$scen.pcap" >"$err" 2>&1 </dev/null &
    PIDS+=("$!")
    CAP_PID[$scen]=$!
    for _ in $(seq 1 50); do
        grep -q 'listening on' "$err" 2>/dev/null && return 0
        sleep 0.1
    done
    die "tcpdump for $scen did not start: $(cat "$err")"
}
end() {
    local scen=$1 pid=${CAP_PID[$1]}
    sleep 0.5 # the last FIN/ACKs
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
kdestroy_all() { ip netns exec "$NS_CLI" env KRB5CCNAME="$CCACHE" kdestroy >/dev/null 2>&1 || true; }
SMB=(smbclient -s "$CLIENT_CONF")

# shellcheck source=scenarios.sh
source "$LAB_DIR/scenarios.sh"

selected() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local s
    for s in "${ONLY[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

t0=$(date +%s)
for scen in "${SCENARIOS[@]}"; do
    selected "$scen" || continue
    log "scenario $scen"
    kdestroy_all
    # A fresh client: no cached name lookups or connections from the previous scenario.
    rm -rf "$WORK/client/lock"/* "$WORK/client/state"/* "$WORK/client/cache"/*
    "scenario_${scen//-/_}"
done
kdestroy_all
log "captures in $WORK/captures, client results in $WORK/results ($(($(date +%s) - t0)) s of scenarios)"
if [ "$KEEP" = 1 ]; then
    log "--keep: lab still up; press Enter to tear it down (namespaces $NS_SRV, $NS_CLI)"
    read -r _ || true
fi
