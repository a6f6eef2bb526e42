#!/usr/bin/env python3
"""Generate endpoint records (Sysmon Event ID 3) that match the flows of pcaps.

Flows come from the sensor's own EVE output (it is run on each pcap with
--stats-interval 0; or give --eve FILE with flow events already made). Each TCP/UDP flow
gets records according to a cycle of cases, so a set of pcaps exercises every one:

  after       record 1.2 s after the flow's first packet          joins (initiated)
  before      record 0.8 s before it                              joins (initiated)
  skew_in     clock 4.3 s ahead (within the 5 s tolerance)        joins (initiated)
  inbound     logged by the server: Initiated false               joins (inbound)
  skew_out    clock 7.5 s behind (outside the tolerance)          no process
  none        no record at all                                    no process
  nearest     a decoy image at +3.9 s and the real one at +0.15 s joins the real one
  both_sides  client record (-0.1 s) and server record (+0.05 s)  joins the client's

Records alternate between the two accepted shapes (Winlogbeat/ECS and flat Sysmon as
NXLog writes it). Each file also gets records of other event IDs (ignored), records with
no matching flow (one looks NAT'd: the flow's server, a private client address), and
garbage lines (truncated JSON, bytes that are not UTF-8, an empty object, missing and bad
fields). Next to each NAME.jsonl goes NAME.expect.json: the process every flow should be
given and the stats.endpoint counters the run should report.

The process of a flow is chosen by --map CLIENT[:SERVER_PORT]=IMAGE (most specific
first; the bundled captures are all on loopback, so the server port tells their flows
apart); server-side records use --inbound-image.

  scripts/gen-endpoint-events.py --out-dir tests/data/endpoint \\
      --map '127.0.0.1=C:\\Windows\\System32\\ftp.exe' \\
      --map '127.0.0.1:445=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' \\
      pcaps/ftp-passive.pcap pcaps/smb-445.pcap pcaps/tftp-69.pcap

Bench mode writes N records in one file, a fraction of them matching flows, the rest
random tuples in the capture's time span (no expectations):

  scripts/gen-endpoint-events.py --bench 1000000 --match-fraction 0.1 \\
      --eve target/bench/bench-eve.json --out target/bench/endpoint-1m.jsonl

Output is deterministic for the same inputs and --seed.
"""

import argparse
import datetime as dt
import ipaddress
import json
import os
import random
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE_MS = 5000

# (case, [(skew_ms, side, image_kind)]); side: "client" (Initiated true) or "server".
CASES = [
    ("after", [(1200, "client", "mapped")]),
    ("before", [(-800, "client", "mapped")]),
    ("skew_in", [(4300, "client", "mapped")]),
    ("inbound", [(300, "server", "inbound")]),
    ("skew_out", [(-7500, "client", "mapped")]),
    ("none", []),
    ("nearest", [(3900, "client", "decoy"), (150, "client", "mapped")]),
    ("both_sides", [(-100, "client", "mapped"), (50, "server", "inbound")]),
]
DECOY = r"C:\Program Files\Updater\updater.exe"
USER = ("CORP", "alice")
HOSTS = {"ecs": "ws-042", "sysmon": "WS-042.corp.example"}
PARENT = (r"C:\Windows\explorer.exe", 3120)


def parse_eve_ts(s):
    """'2026-11-22T08:02:09.491668+0000' -> µs since the epoch."""
    t = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def fmt_time(us, shape):
    """Record time as each shipper writes it: milliseconds, UTC."""
    t = dt.datetime.fromtimestamp(us // 1_000_000, dt.timezone.utc)
    ms = us % 1_000_000 // 1000
    if shape == "ecs":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % ms
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % ms


def ms_floor(us):
    return us - us % 1000


def skew_ms(rec_us, start_us):
    d = rec_us - start_us
    return d // 1000 if d >= 0 else -((-d) // 1000)


def image_name(image):
    return image.replace("/", "\\").rsplit("\\", 1)[-1].lower()


def pid_of(image):
    return 1000 + zlib.crc32(image.encode()) % 30000


def sensor_bin(arg):
    if arg:
        return arg
    for b in ("target/release/exfil-sensor", "target/debug/exfil-sensor"):
        p = os.path.join(ROOT, b)
        if os.access(p, os.X_OK):
            return p
    sys.exit("no sensor binary: cargo build first, or give --sensor / --eve")


def flows_of(pcap, args):
    if args.eve:
        lines = open(args.eve, encoding="utf-8")
    else:
        out = subprocess.run(
            [sensor_bin(args.sensor), "-r", pcap, "--stats-interval", "0"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        lines = out.splitlines()
    flows = []
    for line in lines:
        e = json.loads(line)
        if e.get("event_type") != "flow" or e.get("proto") not in ("TCP", "UDP"):
            continue
        flows.append(
            {
                "flow_id": e["flow_id"],
                "proto": e["proto"],
                "src_ip": e["src_ip"],
                "src_port": e["src_port"],
                "dest_ip": e["dest_ip"],
                "dest_port": e["dest_port"],
                "start_us": parse_eve_ts(e["flow"]["start"]),
                "end_us": parse_eve_ts(e["flow"]["end"]),
                "community_id": e["community_id"],
            }
        )
    flows.sort(key=lambda f: (f["start_us"], f["flow_id"]))
    return flows


def parse_maps(specs):
    m = {}
    for s in specs:
        k, sep, image = s.partition("=")
        if not sep or not image:
            sys.exit(f"--map {s!r}: expected CLIENT[:SERVER_PORT]=IMAGE")
        if k.count(":") == 1 or (k.startswith("[") and "]:" in k):
            addr, port = k.rsplit(":", 1)
            m[(addr.strip("[]"), int(port))] = image
        else:
            m[(k.strip("[]"), None)] = image
    return m


def mapped_image(maps, flow):
    for key in ((flow["src_ip"], flow["dest_port"]), (flow["src_ip"], None)):
        if key in maps:
            return maps[key]
    return r"C:\Windows\System32\svchost.exe"


def record(shape, proto, src, dst, time_us, image, pid, initiated, parent=True):
    """One Event ID 3 record in either shape, as a JSON line."""
    transport = proto.lower()
    if shape == "ecs":
        r = {
            "@timestamp": fmt_time(time_us, "ecs"),
            "event": {
                "code": "3",
                "kind": "event",
                "category": ["network"],
                "type": ["connection", "start"],
                "provider": "Microsoft-Windows-Sysmon",
            },
            "winlog": {
                "channel": "Microsoft-Windows-Sysmon/Operational",
                "provider_name": "Microsoft-Windows-Sysmon",
                "event_id": "3",
                "computer_name": "WS-042.corp.example",
                "event_data": {"SourceIsIpv6": str(":" in src[0]).lower()},
            },
            "process": {
                "executable": image,
                "name": image_name(image),
                "pid": pid,
                "entity_id": "{4ab2c9a1-%04x-0000-0000-000000000000}" % (pid & 0xFFFF),
            },
            "user": {"domain": USER[0], "name": USER[1]},
            "host": {"name": HOSTS["ecs"]},
            "source": {"ip": src[0], "port": src[1]},
            "destination": {"ip": dst[0], "port": dst[1]},
            "network": {
                "transport": transport,
                "direction": "egress" if initiated else "ingress",
                "type": "ipv6" if ":" in src[0] else "ipv4",
            },
            "agent": {"type": "winlogbeat", "version": "8.15.0"},
            "ecs": {"version": "8.0.0"},
        }
        if parent:
            r["process"]["parent"] = {"executable": PARENT[0], "pid": PARENT[1]}
        return json.dumps(r, separators=(",", ":"))
    r = {
        "EventTime": fmt_time(time_us, "sysmon")[:19],
        "Hostname": HOSTS["sysmon"],
        "Keywords": -9223372036854775808,
        "EventType": "INFO",
        "SeverityValue": 2,
        "Severity": "INFO",
        "EventID": 3,
        "SourceName": "Microsoft-Windows-Sysmon",
        "ProviderGuid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
        "Version": 5,
        "TaskValue": 3,
        "OpcodeValue": 0,
        "RecordNumber": 100000 + pid,
        "ProcessID": 2012,
        "ThreadID": 3440,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Domain": "NT AUTHORITY",
        "AccountName": "SYSTEM",
        "Category": "Network connection detected (rule: NetworkConnect)",
        "RuleName": "-",
        "UtcTime": fmt_time(time_us, "sysmon"),
        "ProcessGuid": "{4ab2c9a1-%04x-0000-0000-000000000000}" % (pid & 0xFFFF),
        "ProcessId": str(pid),
        "Image": image,
        "User": USER[0] + "\\" + USER[1],
        "Protocol": transport,
        "Initiated": "true" if initiated else "false",
        "SourceIsIpv6": str(":" in src[0]).lower(),
        "SourceIp": src[0],
        "SourceHostname": "-",
        "SourcePort": str(src[1]),
        "SourcePortName": "-",
        "DestinationIsIpv6": str(":" in dst[0]).lower(),
        "DestinationIp": dst[0],
        "DestinationHostname": "-",
        "DestinationPort": str(dst[1]),
        "DestinationPortName": "-",
        "EventReceivedTime": fmt_time(time_us + 1_000_000, "sysmon")[:19],
        "SourceModuleName": "in_sysmon",
        "SourceModuleType": "im_msvistalog",
    }
    return json.dumps(r, separators=(",", ":"))


def ignored_records(t_us):
    """Other Sysmon events a shipper forwards from the same channel."""
    return [
        json.dumps(
            {
                "EventID": 1,
                "SourceName": "Microsoft-Windows-Sysmon",
                "UtcTime": fmt_time(t_us, "sysmon"),
                "Image": r"C:\Windows\System32\cmd.exe",
                "CommandLine": "cmd.exe /c whoami",
                "ProcessId": "4000",
            }
        ),
        json.dumps(
            {
                "EventID": 22,
                "SourceName": "Microsoft-Windows-Sysmon",
                "UtcTime": fmt_time(t_us, "sysmon"),
                "QueryName": "example.test",
                "Image": r"C:\Windows\System32\nslookup.exe",
            }
        ),
        json.dumps(
            {
                "@timestamp": fmt_time(t_us, "ecs"),
                "winlog": {"event_id": "5", "provider_name": "Microsoft-Windows-Sysmon"},
                "process": {"executable": r"C:\Windows\System32\cmd.exe", "pid": 4000},
            }
        ),
    ]


def garbage_lines(t_us):
    good = record(
        "sysmon", "TCP", ("10.9.9.9", 1), ("10.9.9.8", 2), t_us, r"C:\x.exe", 7, True
    )
    return [
        good[: len(good) // 2].encode(),  # truncated mid-record
        b"\xff\xfe garbage \x80\x81 not utf-8",
        b"{}",
        b"this is not json",
        good.replace('"DestinationIp":"10.9.9.8",', "").encode(),  # missing field
        good.replace(fmt_time(t_us, "sysmon"), "yesterday").encode(),  # bad time
        good.replace('"10.9.9.9"', '"10.9.9.999"').encode(),  # bad address
    ]


def unmatched_records(rng, flows, t0, t1, n):
    """Records for connections the sensor never saw, and one NAT'd one."""
    out = []
    if flows:
        f = flows[0]
        # The flow's server, seen from a host behind NAT: its own address and port differ.
        out.append(
            record(
                "ecs",
                f["proto"],
                ("192.168.77.50", 51000),
                (f["dest_ip"], f["dest_port"]),
                ms_floor(f["start_us"] + 100_000),
                r"C:\Windows\System32\curl.exe",
                pid_of("curl"),
                True,
            )
        )
    for i in range(n):
        t = rng.randrange(t0, max(t0 + 1, t1))
        src = (f"10.20.{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.randrange(49152, 65535))
        dst = (f"198.51.100.{rng.randrange(1, 255)}", rng.choice([21, 445, 69, 443]))
        shape = "ecs" if i % 2 else "sysmon"
        out.append(
            record(shape, "TCP", src, dst, ms_floor(t), r"C:\Windows\System32\svchost.exe", 900, True)
        )
    return out


def dataset(pcap, maps, args, case_offset, rng):
    flows = flows_of(pcap, args)
    lines = []  # (sort time, bytes)
    expect_flows = []
    counts = {
        "records_read": 0,
        "ecs": 0,
        "sysmon": 0,
        "ignored_event_ids": 0,
        "malformed": 0,
        "indexed": 0,
        "flows_joined": 0,
        "flows_unjoined": 0,
        "flows_outside_tolerance": 0,
        "records_never_joined": 0,
    }
    shape_i = case_offset
    for i, f in enumerate(flows):
        case, recs = CASES[(case_offset + i) % len(CASES)]
        expected = None
        chosen_rank = None
        client = (f["src_ip"], f["src_port"])
        server = (f["dest_ip"], f["dest_port"])
        made = []
        for skew, side, kind in recs:
            image = {
                "mapped": mapped_image(maps, f),
                "inbound": args.inbound_image,
                "decoy": DECOY,
            }[kind]
            initiated = side == "client"
            shape = "ecs" if shape_i % 2 == 0 else "sysmon"
            shape_i += 1
            t = ms_floor(f["start_us"] + skew * 1000)
            pid = pid_of(image)
            # Server-side records are logged as the connection runs (source = client),
            # as Sysmon does; the join accepts the other orientation too.
            line = record(shape, f["proto"], client, server, t, image, pid, initiated, parent=initiated)
            s = skew_ms(t, f["start_us"])
            within = abs(t - f["start_us"]) <= args.tolerance_ms * 1000
            made.append((line, shape, within))
            counts[shape] += 1
            if within:
                rank = (not initiated, abs(t - f["start_us"]))
                if chosen_rank is None or rank < chosen_rank:
                    chosen_rank = rank
                    expected = {
                        "image": image,
                        "name": image_name(image),
                        "pid": pid,
                        "user": USER[0] + "\\" + USER[1],
                        "host": HOSTS[shape],
                        "format": shape,
                        "record_time_us": t,
                        "orientation": "initiated" if initiated else "inbound",
                        "skew_ms": s,
                        "parent": {"image": PARENT[0], "name": image_name(PARENT[0]), "pid": PARENT[1]}
                        if initiated and shape == "ecs"
                        else None,
                        "community_id": f["community_id"],
                    }
        for line, _, _ in made:
            lines.append((f["start_us"], line.encode()))
        joined_lines = 1 if expected else 0
        counts["records_never_joined"] += len(made) - joined_lines
        if expected:
            counts["flows_joined"] += 1
        else:
            counts["flows_unjoined"] += 1
            if made:
                counts["flows_outside_tolerance"] += 1
        expect_flows.append(
            {
                "case": case,
                "proto": f["proto"],
                "src_ip": f["src_ip"],
                "src_port": f["src_port"],
                "dest_ip": f["dest_ip"],
                "dest_port": f["dest_port"],
                "start_us": f["start_us"],
                "process": expected,
            }
        )
    t0 = min((f["start_us"] for f in flows), default=0)
    t1 = max((f["end_us"] for f in flows), default=t0)
    extra = unmatched_records(rng, flows, t0, t1, args.unmatched)
    for line in extra:
        lines.append((t0, line.encode()))
        shape = "ecs" if line.startswith('{"@timestamp"') else "sysmon"
        counts[shape] += 1
        counts["records_never_joined"] += 1
    ign = ignored_records(t0)
    bad = garbage_lines(t0)
    counts["ignored_event_ids"] = len(ign)
    counts["malformed"] = len(bad)
    # Interleave the noise with the records, deterministically.
    body = [b for _, b in sorted(lines, key=lambda x: x[0])]
    for j, extra_line in enumerate([x.encode() for x in ign] + bad):
        body.insert(min(len(body), (j * 3 + 1) % (len(body) + 1)), extra_line)
    body.insert(len(body) // 2, b"")  # blank lines are not records
    counts["indexed"] = counts["ecs"] + counts["sysmon"]
    counts["records_read"] = counts["indexed"] + counts["ignored_event_ids"] + counts["malformed"]
    return body, {
        "pcap": os.path.relpath(pcap, ROOT),
        "tolerance_ms": args.tolerance_ms,
        "flows": expect_flows,
        "counts": counts,
    }


def bench(args):
    flows = flows_of(args.pcaps[0] if args.pcaps else None, args)
    rng = random.Random(args.seed)
    n = args.bench
    k = min(len(flows), int(n * args.match_fraction))
    picked = rng.sample(flows, k) if k else []
    t0 = min((f["start_us"] for f in flows), default=1_700_000_000_000_000)
    t1 = max((f["end_us"] for f in flows), default=t0 + 1)
    images = [
        r"C:\Windows\System32\svchost.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\System32\ftp.exe",
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
    ]
    with open(args.out, "w", encoding="utf-8") as out:
        for i, f in enumerate(picked):
            image = images[i % len(images)]
            t = ms_floor(f["start_us"] + rng.randrange(-2000, 2000) * 1000)
            out.write(
                record("ecs" if i % 2 else "sysmon", f["proto"], (f["src_ip"], f["src_port"]),
                       (f["dest_ip"], f["dest_port"]), t, image, pid_of(image), True) + "\n"
            )
        for i in range(n - k):
            image = images[i % len(images)]
            t = ms_floor(rng.randrange(t0, t1))
            src = ("10.%d.%d.%d" % (200 + i % 50, (i >> 8) & 255, i & 255), 49152 + i % 16000)
            dst = ("203.0.113.%d" % (1 + i % 250), (443, 445, 21, 80)[i % 4])
            out.write(record("ecs" if i % 2 else "sysmon", "TCP", src, dst, t, image, pid_of(image), True) + "\n")
    meta = {"records": n, "matching": k, "flows": len(flows), "seed": args.seed}
    with open(args.out + ".meta.json", "w", encoding="utf-8") as m:
        json.dump(meta, m, indent=1, sort_keys=True)
    print(f"wrote {args.out}: {n} records, {k} matching flows of {len(flows)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pcaps", nargs="*", help="captures whose flows get records")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests/data/endpoint"))
    ap.add_argument("--map", action="append", default=[], help="CLIENT[:SERVER_PORT]=IMAGE")
    ap.add_argument("--inbound-image", default=r"C:\Windows\System32\svchost.exe")
    ap.add_argument("--sensor", help="exfil-sensor binary (default: target/release, then debug)")
    ap.add_argument("--eve", help="read flows from this EVE file instead of running the sensor")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tolerance-ms", type=int, default=TOLERANCE_MS)
    ap.add_argument("--unmatched", type=int, default=3, help="random records with no flow, per file")
    ap.add_argument("--bench", type=int, help="bench mode: write this many records to --out")
    ap.add_argument("--match-fraction", type=float, default=0.1)
    ap.add_argument("--out", help="bench mode output file")
    args = ap.parse_args()
    if args.bench is not None:
        if not args.out or not (args.eve or args.pcaps):
            sys.exit("--bench needs --out and --eve FILE or a pcap")
        bench(args)
        return
    if not args.pcaps:
        sys.exit("give at least one pcap (see --help)")
    if args.eve and len(args.pcaps) > 1:
        sys.exit("--eve describes one capture; give one pcap with it")
    maps = parse_maps(args.map)
    os.makedirs(args.out_dir, exist_ok=True)
    offset = 0
    for pcap in args.pcaps:
        rng = random.Random(f"{args.seed}:{os.path.basename(pcap)}")
        body, expect = dataset(pcap, maps, args, offset, rng)
        offset += len(expect["flows"])
        stem = os.path.splitext(os.path.basename(pcap))[0]
        with open(os.path.join(args.out_dir, stem + ".jsonl"), "wb") as f:
            f.write(b"\n".join(body) + b"\n")
        with open(os.path.join(args.out_dir, stem + ".expect.json"), "w", encoding="utf-8") as f:
            json.dump(expect, f, indent=1, sort_keys=True)
            f.write("\n")
        c = expect["counts"]
        print(
            f"{stem}: {len(expect['flows'])} flows, {c['flows_joined']} to join, "
            f"{c['indexed']} records, {c['ignored_event_ids']} ignored, {c['malformed']} malformed",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
