#!/usr/bin/env bash
# Headline figures for BENCHMARKS.md: parse floor vs analyze on a 1 GB and a 4 GB generated
# capture, peak RSS, scan --jobs 1 vs 2 on 20 captures, and tshark on a smaller capture.
# Usage: benches/headline.sh [DIR]   (default /tmp/smbbench; needs ~6 GB free there)
set -euo pipefail
DIR=${1:-/tmp/smbbench}
RUNS=${RUNS:-5}
cd "$(dirname "$0")/.."
cargo build --release --bin smbtriage --example gen_capture --example parse_floor
BIN=target/release
mkdir -p "$DIR/scan20"

gen() {
  [ -s "$1" ] || "$BIN/examples/gen_capture" "$1" "$2" "${3:-1}" "${4:-12}" > "$1.expected.json"
}
gen "$DIR/c1g.pcap" 1024
gen "$DIR/c4g.pcap" 4096
# The same traffic at a realistic ~1 Gbit/s pace: 1 GB spans ~30 min of capture time, 4 GB
# ~2 h, so connections idle past the 15-minute timeout leave the tables.
gen "$DIR/s1g.pcap" 1024 1 3000
gen "$DIR/s4g.pcap" 4096 1 3000
gen "$DIR/c50.pcap" 50
for i in $(seq 1 20); do gen "$DIR/scan20/c$i.pcap" 48 "$i"; done

# Median wall time of $RUNS runs of a command (page cache warm: one untimed run first).
median() {
  "$@" > /dev/null 2>&1 || true
  for _ in $(seq "$RUNS"); do
    { TIMEFORMAT=%3R; time "$@" > /dev/null 2>&1 || true; } 2>&1
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

peak_rss_kb() {
  { /usr/bin/time -v "$@" 2>&1 > /dev/null || true; } |
    awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
  "$(free -g | awk '/Mem:/ {print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for f in c1g c4g s1g s4g; do
  F="$DIR/$f.pcap"
  size=$(stat -c %s "$F")
  floor=$(median "$BIN/examples/parse_floor" "$F")
  analyze=$(median "$BIN/smbtriage" analyze --format json "$F")
  rss=$(peak_rss_kb "$BIN/smbtriage" analyze --format json "$F")
  floor_rss=$(peak_rss_kb "$BIN/examples/parse_floor" "$F")
  echo "$f: $size bytes; floor ${floor}s; analyze ${analyze}s;" \
    "ratio $(echo "scale=2; $analyze / $floor" | bc);" \
    "analyze $(echo "scale=0; $size / $analyze / 1000000" | bc) MB/s;" \
    "peak RSS analyze ${rss} KB, floor ${floor_rss} KB"
done

# The findings must be the generated ones: errors and warnings the injected failures
# ("expected"), info findings those of the mixed estate ("expected_info").
for f in c1g c4g s1g s4g; do
  "$BIN/smbtriage" analyze --format json --min-severity info "$DIR/$f.pcap" > "$DIR/$f.json" || true
  python3 - "$f" "$DIR/$f.json" "$DIR/$f.pcap.expected.json" <<'PY'
import collections, json, sys
findings = [f for fl in json.load(open(sys.argv[2]))["files"] for f in fl["findings"]]
got = dict(collections.Counter(f["id"] for f in findings if f["severity"] != "info"))
got_info = dict(collections.Counter(f["id"] for f in findings if f["severity"] == "info"))
want = json.load(open(sys.argv[3]))
ok = got == want["expected"] and got_info == want.get("expected_info", {})
print(sys.argv[1], "findings", dict(sorted(got.items())), "info", dict(sorted(got_info.items())),
      "match" if ok else f"DIFFER from {want['expected']} info {want.get('expected_info', {})}")
PY
done

j1=$(median "$BIN/smbtriage" scan --jobs 1 --format json "$DIR/scan20")
j2=$(median "$BIN/smbtriage" scan --jobs 2 --format json "$DIR/scan20")
echo "scan 20 files: --jobs 1 ${j1}s, --jobs 2 ${j2}s, speed-up $(echo "scale=2; $j1 / $j2" | bc)"

if command -v tshark > /dev/null; then
  FILTER='(smb2.cmd in {0,1,3} && smb2.flags.response == 1 && smb2.nt_status != 0 && smb2.nt_status != 0xc0000016) || (smb2.cmd == 0 && smb2.flags.response == 0 && !smb2.response_in) || (kerberos.msg_type == 30 && !(kerberos.error_code in {25,52}))'
  for f in c50 c1g; do
    F="$DIR/$f.pcap"
    start=$(date +%s.%N)
    tshark -2 -r "$F" -Y "$FILTER" -T fields -e frame.number -e smb2.cmd -e smb2.nt_status \
      -e kerberos.error_code > "$DIR/$f.tshark.tsv" 2> /dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    ours=$(median "$BIN/smbtriage" analyze --format json "$F")
    echo "tshark on $f ($(stat -c %s "$F") bytes): ${t}s, $(wc -l < "$DIR/$f.tshark.tsv") frames;" \
      "smbtriage ${ours}s; tshark/smbtriage $(echo "scale=0; $t / $ours" | bc)x"
  done
fi
