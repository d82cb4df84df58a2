#!/usr/bin/env python3
r"""Generate tests/schemas/files/pihole-dns.json (the regexes are too long to
edit by hand). Sources: pi-hole/FTL tag v6.4.1, see tests/schemas/README.md.

    target/tools/venv/bin/python tests/schemas/files/pihole-dns.py

Output is deterministic. The patterns are ECMAScript (check-jsonschema's
default regress engine, ajv) and Python re compatible; `(?![\s\S])` is used
instead of `$` so that Python's re does not accept a trailing newline.
"""
import json
import os
import sys

WS = r"[ \t\n\v\f\r]"              # C isspace() in the C locale
SEP = r"[ \t]" + WS + "*"          # strsep(" \t") + skipped whitespace/empty tokens
OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
IPV4 = OCT + r"(?:\." + OCT + "){3}"
H16 = "[0-9A-Fa-f]{1,4}"
LS32 = f"(?:{H16}:{H16}|{IPV4})"
def rep(n):  # n times "h16:"
    return f"(?:{H16}:){{{n}}}" if n else ""
def left(k):  # [ *k( h16 ":" ) h16 ]
    return f"(?:(?:{H16}:){{0,{k}}}{H16})?" if k else f"(?:{H16})?"
# inet_pton(AF_INET6): the IPv6address rule of RFC 3986 section 3.2.2
# (embedded IPv4 as ls32, no zone index).
IPV6 = "(?:" + "|".join([
    f"{rep(6)}{LS32}",
    f"::{rep(5)}{LS32}",
    f"{left(0)}::{rep(4)}{LS32}",
    f"{left(1)}::{rep(3)}{LS32}",
    f"{left(2)}::{rep(2)}{LS32}",
    f"{left(3)}::{H16}:{LS32}",
    f"{left(4)}::{LS32}",
    f"{left(5)}::{H16}",
    f"{left(6)}::",
]) + ")"
HC = "[A-Za-z0-9._-]"
# Lookaheads check one whole token (they are atomic in ECMAScript, so a failed
# entry does not backtrack exponentially); [A-Za-z0-9._-]+ then consumes it.
HOST = (f"(?={HC}{{1,255}}(?!{HC}))"
        r"(?=(?:[A-Za-z0-9_-]{1,63}\.)*"
        r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)?"
        f"(?!{HC}))"
        f"{HC}+")
END = r"(?![\s\S])"
HOSTS_ENTRY = ("^" + WS + "*" + f"(?:{IPV4}|{IPV6})" + SEP + HOST +
               f"(?:{SEP}{HOST})*" + f"(?:{SEP}(?:#[\\s\\S]*)?)?" + END)
HOSTNAME = "^" + HOST + END
TTL = "[0-9]+"
CNAME_ENTRY = "^" + HOST + "," + HOST + f"(?:,{TTL})?" + END

schema = {
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$comment": ("Written for labc from pi-hole/FTL tag v6.4.1 (see tests/schemas/README.md): "
               "src/config/config.c (dns.hosts, dns.cnameRecords), src/config/validator.c (validate_dns_hosts, validate_dns_cnames), "
               "src/tools/gravity-parseList.c (valid_domain), src/dnsmasq/option.c (--cname parsing)."),
  "title": "Pi-hole v6 dns.hosts and dns.cnameRecords (pihole.toml [dns] table)",
  "description": ("The two local-DNS arrays of Pi-hole v6's /etc/pihole/pihole.toml, [dns] hosts = [...] and [dns] cnameRecords = [...], "
                  "as one object. hosts entries follow FTL's validate_dns_hosts exactly (the check FTL applies to values set through the API, "
                  "pihole-FTL --config and FTLCONF_ environment variables; values read from pihole.toml itself are not validated). "
                  "cnameRecords entries are stricter than FTL's validate_dns_cnames (which only requires two or more non-empty comma-separated fields): "
                  "exactly <cname>,<target>[,<TTL>], both names under the same host-name rule as hosts, TTL decimal digits, no spaces."),
  "type": "object",
  "additionalProperties": False,
  "properties": {
    "hosts": {
      "description": "dns.hosts: custom A/AAAA records in HOSTS form \"IP HOSTNAME [HOSTNAME ...]\" (FTL writes them verbatim to /etc/pihole/hosts/custom.list).",
      "type": "array",
      "items": {"$ref": "#/definitions/hostsEntry"}
    },
    "cnameRecords": {
      "description": "dns.cnameRecords: \"<cname>,<target>[,<TTL>]\" (FTL writes each as cname=<entry> into /etc/pihole/dnsmasq.conf).",
      "type": "array",
      "items": {"$ref": "#/definitions/cnameEntry"}
    }
  },
  "definitions": {
    "hostsEntry": {
      "description": ("validate_dns_hosts (validator.c:27-126): optional leading whitespace (isspace); an IPv4 or IPv6 address as inet_pton() accepts it "
                      "(IPv4 dotted quad without leading zeros; IPv6 in RFC 4291 text form, embedded IPv4 allowed, no zone index); "
                      "then one or more host names, separated by runs of whitespace that start with a space or tab; "
                      "a token starting with '#' ends the entry (the rest is a comment); at least one host name before it."),
      "type": "string",
      "pattern": HOSTS_ENTRY
    },
    "hostname": {
      "description": ("valid_domain(host, len, false) (gravity-parseList.c:43-98): 1-255 characters from [A-Za-z0-9._-]; no leading dot and no empty label; "
                      "every label followed by a dot at most 63 characters (the last label is only limited by the 255 total); "
                      "the last label must not start with '-' and the name must not end with '-'; a trailing dot is allowed; no non-ASCII (IDN must be punycode)."),
      "type": "string",
      "pattern": HOSTNAME
    },
    "cnameEntry": {
      "description": ("<cname>,<target>[,<TTL>], each name a hostname (see definitions/hostname), TTL decimal digits. "
                      "FTL itself (validate_dns_cnames, validator.c:130-180) only requires at least two comma-separated fields, none empty; "
                      "dnsmasq (option.c:4963, --cname) also accepts several aliases (<cname>,<cname>,...,<target>[,<TTL>]) and takes a numeric last field of three or more as the TTL."),
      "type": "string",
      "pattern": CNAME_ENTRY
    }
  }
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "pihole-dns.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(schema, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(out)
